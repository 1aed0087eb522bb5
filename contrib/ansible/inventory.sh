#!/bin/sh
# Ansible inventory script: the hosts automagic knows, their groups (from the
# host files), MACs, firmware, next-boot state and last seen address.
# `ansible-playbook -i contrib/ansible/inventory.sh ...`; Ansible calls it
# with --list (and --host NAME, which automagic answers too). The CLI reads
# AUTOMAGIC_SERVER and AUTOMAGIC_ADMIN_TOKEN; AUTOMAGIC_CLI names another CLI.
exec "${AUTOMAGIC_CLI:-automagic}" inventory "$@"
