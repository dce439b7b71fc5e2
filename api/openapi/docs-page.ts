// The reference page is ours and self-contained: no CDN, and the script is a separate same-origin
// file so the Content-Security-Policy (default-src 'self') needs no inline-script exception.

export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OpsSight API</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #1d2330; }
h2 { margin-top: 2rem; border-bottom: 1px solid #ddd; text-transform: capitalize; }
.op { margin: .4rem 0; border: 1px solid #e3e6ea; border-radius: 4px; padding: .4rem .6rem; }
.method { display: inline-block; min-width: 4.5rem; font-weight: 600; text-transform: uppercase; }
.get { color: #1f6feb; } .post { color: #1a7f37; } .put { color: #9a6700; } .patch { color: #8250df; } .delete { color: #cf222e; }
code { font-size: 13px; } pre { background: #f6f8fa; padding: .5rem; overflow: auto; }
.muted { color: #6e7781; }
</style>
</head>
<body>
<h1 id="title">OpsSight API</h1>
<p class="muted" id="description">Loading <a href="/api/v1/openapi.json">openapi.json</a>…</p>
<main id="ops"></main>
<script src="/api/v1/docs/app.js" defer></script>
</body>
</html>
`;

/** Renders the paths of openapi.json grouped by tag; text only (textContent), never HTML from the document. */
export const DOCS_JS = `'use strict';
(async () => {
  const el = (tag, attrs, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const c of children) e.append(c);
    return e;
  };
  const res = await fetch('/api/v1/openapi.json');
  const doc = await res.json();
  document.getElementById('title').textContent = doc.info.title + ' ' + doc.info.version;
  document.getElementById('description').textContent = doc.info.description;
  const schemaOf = (ref) => doc.components.schemas[ref.split('/').pop()];
  const byTag = new Map();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags && op.tags[0]) || 'other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push({ path, method, op });
    }
  }
  const main = document.getElementById('ops');
  for (const [tag, ops] of byTag) {
    main.append(el('h2', {}, tag));
    for (const { path, method, op } of ops) {
      const details = el('details', { class: 'op', id: op.operationId });
      const locked = op.security && op.security.length ? ' \\u{1F512}' : '';
      details.append(el('summary', {}, el('span', { class: 'method ' + method }, method), el('code', {}, path), ' — ' + op.summary + locked));
      for (const p of op.parameters || []) {
        details.append(el('div', {}, el('code', {}, p.in + ' ' + p.name + (p.required ? ' *' : '')), ' ' + (p.description || JSON.stringify(p.schema))));
      }
      const body = op.requestBody && op.requestBody.content['application/json'].schema.$ref;
      if (body) details.append(el('div', {}, 'Body: ' + body.split('/').pop()), el('pre', {}, JSON.stringify(schemaOf(body), null, 2)));
      const list = el('ul', {});
      for (const [status, r] of Object.entries(op.responses)) {
        const name = r.$ref ? r.$ref.split('/').pop() : r.description;
        list.append(el('li', {}, status + ' ' + name));
      }
      details.append(list);
      main.append(details);
    }
  }
})().catch((err) => {
  document.getElementById('description').textContent = 'Could not load the API description: ' + err;
});
`;
