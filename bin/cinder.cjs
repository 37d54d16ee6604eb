#!/usr/bin/env node
// novasim's `cinder`: python-cinderclient 1.6.x (Mitaka) hosting the same embedded cloud as `nova`.
require('./launch.cjs')('cinder');
