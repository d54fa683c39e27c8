// --service-map FILE: the map kept up to date during a session, rewritten atomically every
// few seconds while new calls arrive and once more at the end. FILE.svg is drawn as SVG,
// any other name is DOT.

import { writeFileAtomic } from './atomic-file.js';
import { toDot } from './dot.js';
import type { EdgeTable } from './edges.js';
import { serviceGraph } from './service-map.js';
import { dotToSvg } from './svg.js';

const REWRITE_EVERY_MS = 5000;

export class ServiceMapFile {
  private writtenAt = -1;
  private writing: Promise<void> | null = null;

  constructor(
    readonly path: string,
    private readonly edges: EdgeTable,
  ) {}

  get svg(): boolean {
    return /\.svg$/i.test(this.path);
  }

  /** Rewrites the file while calls keep coming; returns the function that stops it. */
  startRewriting(): () => void {
    const timer = setInterval(() => {
      if (this.edges.entries !== this.writtenAt && !this.writing) void this.write().catch(() => {});
    }, REWRITE_EVERY_MS);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Writes the map as it stands (after any write in progress). */
  async write(): Promise<void> {
    while (this.writing) await this.writing;
    this.writing = this.render().finally(() => (this.writing = null));
    return this.writing;
  }

  private async render(): Promise<void> {
    const seen = this.edges.entries;
    const dot = toDot(serviceGraph(this.edges));
    await writeFileAtomic(this.path, this.svg ? await dotToSvg(dot) : dot);
    this.writtenAt = seen;
  }
}
