/**
 * The site's static text: index.html (the page's skeleton: what `page.ts` fills in) and
 * style.css. The page allows itself nothing but its own folder (Content-Security-Policy: scripts,
 * styles, the model, the .wasm files and data from the site itself; images from the page's own
 * blobs), so no request leaves it.
 */

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self' blob: data:",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

export function indexHtml(version: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">
<meta name="generator" content="caldera ${version}">
<title>caldera: volcanic deformation in interferograms</title>
<link rel="stylesheet" href="style.css">
<script type="module" src="caldera.js"></script>
</head>
<body data-state="starting">
<a class="skip" href="#main">Skip to the map</a>
<header class="top">
  <h1>caldera <span class="tagline">volcanic deformation in InSAR interferograms, found in your browser</span></h1>
  <p id="engine" class="engine" role="status" aria-live="polite">Loading…</p>
</header>
<div class="layout">
  <aside class="side" aria-label="Files, settings and detections">
    <section class="panel" aria-labelledby="in-h">
      <h2 id="in-h">Products</h2>
      <div id="drop" class="drop" tabindex="0" role="button" aria-describedby="drop-help">
        <strong>Drop files or a folder here</strong>
        <span id="drop-help">LiCSAR <code>*.geo.unw.tif</code>, <code>*.geo.diff_pha.tif</code>, <code>*.geo.cc.tif</code> (paired by name), a single-band GeoTIFF,
        or a <code>caldera scan</code> folder (<code>scan.jsonl</code>, <code>scan.geojson</code>, pictures). Nothing leaves this computer.</span>
      </div>
      <div class="buttons">
        <button type="button" id="pick-files-button">Choose files…</button>
        <button type="button" id="pick-folder-button">Choose a folder…</button>
        <input id="pick-files" type="file" multiple hidden>
        <input id="pick-folder" type="file" multiple webkitdirectory hidden>
      </div>
      <details class="settings">
        <summary>Scan settings</summary>
        <div class="field"><label for="min-score">Smallest probability reported as a detection</label>
          <input id="min-score" type="number" min="0" max="1" step="0.05"></div>
        <div class="field"><label for="min-coherence">Mask pixels with coherence below</label>
          <input id="min-coherence" type="number" min="0" max="1" step="0.05"></div>
        <div class="field"><label for="phase-coherence">Coherence estimated from the phase</label>
          <select id="phase-coherence">
            <option value="on">for every product (with a .cc: the lower)</option>
            <option value="auto">only without a .cc file</option>
            <option value="off">never</option>
          </select></div>
        <div class="field"><label for="units">A plain single-band GeoTIFF holds</label>
          <select id="units">
            <option value="rad" selected>unwrapped phase (rad)</option>
            <option value="m">LOS displacement (m)</option>
          </select></div>
        <div class="field check"><input id="sign" type="checkbox"><label for="sign">Also run the negated phase and average (sign symmetry)</label></div>
        <p id="scales" class="hint"></p>
      </details>
      <div id="progress" class="progress" hidden>
        <progress id="progress-bar" max="1" value="0" aria-label="scan progress"></progress>
        <span id="progress-text" aria-live="polite"></span>
      </div>
      <div id="messages" class="messages" role="alert"></div>
    </section>
    <section class="panel" aria-labelledby="det-h">
      <h2 id="det-h">Detections <span id="det-count" class="count"></span></h2>
      <p id="det-empty" class="hint">No product yet.</p>
      <ol id="detections" class="detections"></ol>
      <div class="buttons">
        <button type="button" id="dl-geojson" disabled>Download GeoJSON</button>
        <button type="button" id="dl-jsonl" disabled>Download scan.jsonl</button>
      </div>
    </section>
  </aside>
  <main id="main" class="main" tabindex="-1">
    <div id="product-bar" class="product-bar" hidden>
      <label for="product">Product</label>
      <select id="product"></select>
      <button type="button" id="clear">Clear all</button>
    </div>
    <div id="empty" class="empty">
      <h2>Drop a product to start</h2>
      <p>The page pairs the layers of each interferogram by name, masks pixels of low coherence, looks at it in
      overlapping windows of 10, 20 and 40 km with the network, and shows where it finds deformation:
      each box with its class (dyke or sill) and probability. It runs the same code as <code>caldera scan</code>,
      on this computer.</p>
    </div>
    <figure id="figure" class="figure" hidden>
      <h2 id="title"></h2>
      <p id="subtitle" class="subtitle"></p>
      <div id="map" class="map"></div>
      <figcaption class="caption">
        <div id="legend" class="legend"></div>
        <div class="field check"><input id="show-not-run" type="checkbox" checked><label for="show-not-run">Show windows not run (×)</label></div>
      </figcaption>
      <ul id="notes" class="notes"></ul>
    </figure>
    <details id="records-panel" class="records" hidden>
      <summary>All records (<span id="records-count"></span>), as in scan.jsonl</summary>
      <table>
        <thead><tr><th scope="col">verdict</th><th scope="col">class</th><th scope="col">probability</th><th scope="col">window</th><th scope="col">window centre</th><th scope="col">masked</th></tr></thead>
        <tbody id="records-body"></tbody>
      </table>
    </details>
  </main>
</div>
</body>
</html>
`;
}

export const STYLE_CSS = `:root {
  --ink: #1b1f24; --subtle: #57606a; --line: #d0d7de; --panel: #f6f8fa; --bg: #ffffff;
  --accent: #0b5cad; --accent-soft: #dbe9f8; --error: #a40e26; --error-bg: #fff0f0; --note-bg: #f0f6ff;
  --dyke: #000000; --sill: #ffffff; --focus: #ffbf00;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif;
  color: var(--ink); background: var(--bg);
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; }
code { font: 0.9em ui-monospace, "DejaVu Sans Mono", monospace; background: #eef1f4; padding: 0 3px; border-radius: 3px; }
.skip { position: absolute; left: -999px; top: 0; }
.skip:focus { left: 8px; top: 8px; background: #fff; padding: 6px 10px; z-index: 10; outline: 3px solid var(--focus); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }

.top { display: flex; align-items: baseline; gap: 24px; flex-wrap: wrap; padding: 10px 20px; border-bottom: 1px solid var(--line); background: #24292f; color: #fff; }
.top h1 { margin: 0; font-size: 20px; font-weight: 700; letter-spacing: 0.02em; }
.tagline { font-weight: 400; font-size: 14px; color: #c9d1d9; margin-left: 8px; }
.engine { margin: 0 0 0 auto; font-size: 13px; color: #c9d1d9; }
.engine.problem { color: #ffb4b4; }

.layout { display: grid; grid-template-columns: minmax(300px, 370px) 1fr; min-height: calc(100vh - 50px); }
@media (max-width: 900px) { .layout { grid-template-columns: 1fr; } }
.side { border-right: 1px solid var(--line); background: var(--panel); padding: 14px; display: flex; flex-direction: column; gap: 14px; }
.panel h2 { font-size: 15px; margin: 0 0 8px; text-transform: uppercase; letter-spacing: 0.05em; color: var(--subtle); }
.count { color: var(--ink); }
.drop { border: 2px dashed #8c959f; border-radius: 8px; padding: 14px; background: #fff; cursor: pointer; display: flex; flex-direction: column; gap: 6px; font-size: 13px; color: var(--subtle); }
.drop strong { color: var(--ink); font-size: 15px; }
.drop:hover, .drop.over { border-color: var(--accent); background: var(--accent-soft); }
.drop[aria-disabled="true"] { opacity: 0.6; cursor: progress; }
.buttons { display: flex; gap: 8px; flex-wrap: wrap; margin-top: 10px; }
button { font: inherit; font-size: 14px; padding: 6px 12px; border: 1px solid #8c959f; border-radius: 6px; background: #fff; color: var(--ink); cursor: pointer; }
button:hover:not(:disabled) { background: var(--accent-soft); border-color: var(--accent); }
button:disabled { opacity: 0.5; cursor: default; }
.settings { margin-top: 12px; font-size: 14px; }
.settings summary { cursor: pointer; font-weight: 600; }
.field { display: flex; align-items: center; justify-content: space-between; gap: 10px; margin: 8px 0; }
.field label { flex: 1; }
.field input[type=number] { width: 5.5em; font: inherit; padding: 3px 6px; }
.field select { font: inherit; max-width: 13em; }
.field.check { justify-content: flex-start; }
.field.check label { flex: none; }
.hint { font-size: 13px; color: var(--subtle); margin: 6px 0; }
.progress { display: flex; flex-direction: column; gap: 4px; margin-top: 12px; font-size: 13px; }
.progress progress { width: 100%; height: 14px; }
.messages { display: flex; flex-direction: column; gap: 6px; margin-top: 10px; }
.msg { margin: 0; padding: 8px 10px; border-radius: 6px; font-size: 13.5px; overflow-wrap: anywhere; }
.msg.error { background: var(--error-bg); color: var(--error); border: 1px solid #f3b8c0; }
.msg.note { background: var(--note-bg); border: 1px solid #b6d0f0; }

.detections { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 8px; }
.det-item { width: 100%; text-align: left; display: flex; flex-direction: column; gap: 6px; padding: 8px 10px; border-radius: 8px; background: #fff; }
.det-item[aria-pressed="true"] { border: 2px solid var(--accent); background: var(--accent-soft); }
.det-head { display: flex; align-items: center; gap: 8px; font-size: 15px; }
.rank { display: inline-grid; place-items: center; width: 22px; height: 22px; border-radius: 50%; background: #24292f; color: #fff; font-size: 12px; font-weight: 700; }
.cls { font-weight: 700; padding: 0 6px; border-radius: 4px; }
.cls.dyke { background: #000; color: #fff; }
.cls.sill { background: #fff; color: #000; border: 1px solid #000; }
.det-head .p { margin-left: auto; font-variant-numeric: tabular-nums; font-weight: 700; }
.probs { display: flex; flex-direction: column; gap: 2px; }
.prob { display: grid; grid-template-columns: 3.2em 1fr 2.8em; align-items: center; gap: 6px; font-size: 12.5px; color: var(--subtle); }
.prob.strong { color: var(--ink); font-weight: 600; }
.prob .bar { height: 9px; background: #e6e9ed; border-radius: 2px; overflow: hidden; }
.prob .fill { display: block; height: 100%; background: #a9bcd6; }
.prob.strong .fill { background: var(--accent); }
.prob .value { text-align: right; font-variant-numeric: tabular-nums; }
.meta { font-size: 12.5px; color: var(--subtle); }

.main { padding: 14px 22px 30px; min-width: 0; }
.main:focus { outline: none; }
.product-bar { display: flex; align-items: center; gap: 10px; margin-bottom: 8px; }
.product-bar select { font: inherit; min-width: 16em; max-width: 100%; }
.empty { max-width: 46em; margin: 60px auto; color: var(--subtle); }
.empty h2 { color: var(--ink); }
.figure { margin: 0; }
.figure h2 { margin: 4px 0 2px; font-size: 19px; overflow-wrap: anywhere; }
.subtitle { margin: 0 0 8px; font-size: 13.5px; color: var(--subtle); display: flex; flex-wrap: wrap; gap: 4px 14px; }
.map { max-width: 1080px; }
.map-svg { width: 100%; height: auto; display: block; font-size: 13px; }
.map-svg .phase { image-rendering: pixelated; }
.map-svg .blank { fill: #f3f4f6; }
.map-svg .blank-text { fill: var(--subtle); font-size: 14px; }
.map-svg .frame { fill: none; stroke: #24292f; stroke-width: 1; }
.map-svg .axes line { stroke: #24292f; }
.map-svg .axes text { fill: var(--ink); }
.map-svg .det polygon { fill: none; stroke-linejoin: round; }
.map-svg .det .halo { stroke-width: 6; }
.map-svg .det .line { stroke-width: 2.5; }
.map-svg .det.dyke .halo { stroke: #ffffff; } .map-svg .det.dyke .line { stroke: #000000; }
.map-svg .det.sill .halo { stroke: #000000; } .map-svg .det.sill .line { stroke: #ffffff; }
.map-svg .det .tag { font-weight: 700; font-size: 14px; paint-order: stroke; stroke-width: 4px; stroke-linejoin: round; }
.map-svg .det.dyke .tag { fill: #000; stroke: #fff; }
.map-svg .det.sill .tag { fill: #fff; stroke: #000; }
.map-svg .det { cursor: pointer; }
.map-svg .det.active .halo { stroke: var(--focus); stroke-width: 9; }
.map-svg .not-run path { fill: none; }
.map-svg .not-run .halo { stroke: #fff; stroke-width: 3.5; }
.map-svg .not-run .line { stroke: #333; stroke-width: 1.4; }
.map-svg .scalebar .bg { fill: rgba(255, 255, 255, 0.85); }
.map-svg .scalebar .bar { fill: #000; }
.map-svg .scalebar text { fill: #000; font-weight: 600; }
.picture { max-width: 100%; height: auto; border: 1px solid var(--line); }
.caption { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 8px 20px; margin-top: 8px; font-size: 13.5px; }
.legend-items { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 18px; }
.colourbar { display: grid; grid-template-columns: 180px auto; grid-template-rows: auto auto; column-gap: 10px; align-items: center; }
.colourbar canvas { width: 180px; height: 12px; border: 1px solid #555; image-rendering: pixelated; grid-row: 1; grid-column: 1; }
.colourbar-labels { grid-row: 2; grid-column: 1; display: flex; justify-content: space-between; font-size: 12px; }
.colourbar-caption { grid-row: 1 / span 2; grid-column: 2; }
.swatch-item { display: inline-flex; align-items: center; gap: 6px; }
.swatch { display: inline-block; width: 22px; height: 14px; border: 1px solid #444; }
.swatch.masked { background: #8a8a8a; }
.swatch.nodata { background: #e4e4e4; }
.swatch.dyke { background: #8fb0d8; border: 2px solid #000; outline: 1px solid #fff; outline-offset: -4px; }
.swatch.sill { background: #8fb0d8; border: 2px solid #fff; outline: 1px solid #000; }
.swatch.not-run { border: none; background: none; position: relative; }
.swatch.not-run::before { content: "×"; position: absolute; inset: -5px 0 0 4px; font-size: 20px; color: #333; }
.notes { font-size: 13px; color: var(--subtle); padding-left: 18px; }
.records { margin-top: 16px; font-size: 13.5px; }
.records summary { cursor: pointer; font-weight: 600; }
.records table { border-collapse: collapse; margin-top: 8px; }
.records th, .records td { border-bottom: 1px solid var(--line); padding: 3px 10px; text-align: left; }
.records td.num { text-align: right; font-variant-numeric: tabular-nums; }
`;
