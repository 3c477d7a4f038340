// Preloaded (`node -r ./bench/cpu-profile.cjs`) by bench/run.mjs into a process it measures when
// BENCH_PROFILE is set: the message 'profile:start' (over the IPC channel) starts V8's sampling
// profiler, 'profile:stop' writes the profile to $BENCH_PROFILE_FILE (a .cpuprofile for Chrome
// DevTools or bench/profile-top.mjs) and answers 'profile:written'. Unlike --cpu-prof it covers
// only the measured phase, not start-up. (Signals would not do: Nest's shutdown hooks take SIGUSR2.)
const inspector = require('node:inspector');
const { writeFileSync } = require('node:fs');

const session = new inspector.Session();
session.connect();
process.channel?.unref();
process.on('message', (message) => {
  if (message === 'profile:start') {
    session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start')));
  } else if (message === 'profile:stop') {
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(process.env.BENCH_PROFILE_FILE, JSON.stringify(result.profile));
      process.send?.('profile:written');
    });
  }
});
