#!/usr/bin/env node
// novasim's world manager: nova-sim init, volume-path, logs, config, blkdebug, doctor, fault,
// guest-load, virsh (`nova-sim --help` lists them).
require('./launch.cjs')('nova-sim');
