#!/usr/bin/env node
// novasim's world manager: nova-sim init | volume-path
require('./launch.cjs')('nova-sim');
