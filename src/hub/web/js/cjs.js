// cjs: load a CommonJS module tree in the browser, without a build step.
// Debian 12's libjs-xterm ships an xterm.js that only require()s the
// modules of node-xterm (same source package); this fetches the tree the
// entry module needs, wraps each file in a function and runs them all as
// one script from a blob: URL (no eval; the hub's CSP allows blob:
// scripts), then evaluates the entry the way Node would.
const resolve = (from, spec) => {
  const url = new URL(spec, location.origin + from);
  return url.pathname.endsWith('.js') ? url.pathname : `${url.pathname}.js`;
};

export async function requireTree(entry) {
  const sources = new Map();
  const load = async (path) => {
    if (sources.has(path)) return;
    sources.set(path, null);
    const r = await fetch(path, { credentials: 'same-origin' });
    if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
    const src = await r.text();
    sources.set(path, src);
    const deps = [...src.matchAll(/require\("([^"]+)"\)/g)].map((m) => resolve(path, m[1]));
    await Promise.all(deps.map(load));
  };
  await load(entry);
  const registry = `__cjs${Math.random().toString(36).slice(2)}`;
  let text = `window.${registry} = {};\n`;
  for (const [path, src] of sources) {
    text += `window.${registry}[${JSON.stringify(path)}] = function (exports, require, module) {\n${src.replace(/^\/\/# sourceMappingURL=.*$/m, '')}\n};\n`;
  }
  const url = URL.createObjectURL(new Blob([text], { type: 'text/javascript' }));
  await new Promise((ok, fail) => {
    const s = document.createElement('script');
    s.src = url;
    s.onload = ok;
    s.onerror = () => fail(new Error('the terminal library did not load'));
    document.head.append(s);
  });
  URL.revokeObjectURL(url);
  const cache = new Map();
  const req = (path) => {
    if (cache.has(path)) return cache.get(path).exports;
    const module = { exports: {} };
    cache.set(path, module);
    window[registry][path](module.exports, (spec) => req(resolve(path, spec)), module);
    return module.exports;
  };
  return req(entry);
}
