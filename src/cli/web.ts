/** `caldera web`: write the web page that scans products in the browser, and serve it on this machine. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InputError } from '../core/errors.js';
import { serveDir } from '../web/serve.js';
import { writeSite } from '../web/site.js';
import { bool, num, str, type Parsed } from './args.js';
import { command } from './command.js';

export const webCommand = command('web', 'write a web page that scans products in the browser (a static folder), and serve it on 127.0.0.1',
  '--out DIR [--model DIR]   |   --serve [--port P] [--out DIR]', {
    out: { type: 'string', help: 'folder to write the site into (new, empty, or an earlier site); with --serve, default: a temporary folder', value: 'DIR' },
    serve: { type: 'boolean', help: 'serve the site on 127.0.0.1 until Ctrl-C (prints its address)' },
    port: { type: 'int', help: 'port for --serve (0 = any free port)', default: 8080, value: 'P' },
    model: { type: 'string', help: 'model directory from caldera train (default: the bundled models/default)', value: 'DIR' },
  }, async (p: Parsed) => {
    const serve = bool(p, 'serve');
    let out = str(p, 'out');
    if (!out && !serve) throw new InputError('give --out DIR to write the site, --serve to serve it, or both');
    if (p.positionals.length) throw new InputError(`unexpected argument '${p.positionals[0]}' (the page takes its files in the browser)`);
    const port = num(p, 'port') ?? 8080;
    const temp = !out;
    out ??= fs.mkdtempSync(path.join(os.tmpdir(), 'caldera-web-'));
    try {
      const site = await writeSite(out, { ...(str(p, 'model') ? { model: str(p, 'model')! } : {}) });
      process.stdout.write(`${temp ? 'a temporary folder' : out}: ${site.files.length} files, ${(site.bytes / 1e6).toFixed(1)} MB (model ${site.modelName})\n`);
      if (!serve) {
        process.stdout.write(`serve it with any static web server, or: caldera web --serve --out ${out}\n`);
        return 0;
      }
      const served = await serveDir(out, { port });
      process.stdout.write(`caldera web: open ${served.url} (serving ${out} on this machine only; Ctrl-C stops)\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => { void served.close().then(resolve); };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      return 0;
    } finally {
      if (temp) fs.rmSync(out, { recursive: true, force: true });
    }
  });
