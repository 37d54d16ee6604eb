#!/usr/bin/env node
// novasim's `nova`: python-novaclient 3.3.x (Mitaka) hosting an embedded cloud.
require('./launch.cjs')('nova');
