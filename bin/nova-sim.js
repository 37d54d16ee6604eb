#!/usr/bin/env node
// novasim's world manager: nova-sim init | volume-path
import { run } from '../dist/novaclient/sim_main.js';

await run();
