/** A key group's name: `team-a`, `user:42`... */
export const KEY_GROUP = /^[A-Za-z0-9_.:@-]{1,100}$/;
export const KEY_GROUP_MESSAGE = "a key group is 1 to 100 letters, digits, '_', '.', ':', '@' or '-'";
