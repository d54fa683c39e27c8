// The subcommands, in help order: main.ts registers them and complete.ts reads their flags.
import type { CommandModule } from 'yargs';
import { cleanCommand } from './clean.js';
import { manifestsCommand } from './manifests.js';
import { readCommand } from './read.js';
import { tapCommand } from './tap.js';
import { versionCommand } from './version.js';

// Each module types its own arguments; yargs takes them all as CommandModule.
export const COMMANDS = [tapCommand, readCommand, cleanCommand, manifestsCommand, versionCommand] as unknown as CommandModule[];
