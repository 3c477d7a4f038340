/** Injection token of the proxy's validated settings (ProxyConfig). */
export const PROXY_CONFIG = Symbol('PROXY_CONFIG');
