#!/usr/bin/env node
// novasim's `nova`: python-novaclient 3.3.x (Mitaka) hosting an embedded cloud.
import { run } from '../dist/novaclient/main.js';

await run();
