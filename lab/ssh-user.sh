#!/bin/sh
# The lab's SSH login on a node: USER with the public key PUBKEY (one line), sudo without a password; prints the
# node's ed25519 host key last. Run as root in the node (molecule/shared/prepare.yml, tests/integration/run).
# Usage: ssh-user.sh USER 'PUBKEY'
set -e
user=$1
id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh --password '*' "$user"
install -d -m 0700 -o "$user" -g "$user" "/home/$user/.ssh"
printf '%s\n' "$2" > "/home/$user/.ssh/authorized_keys"
chown "$user": "/home/$user/.ssh/authorized_keys"
echo "$user ALL=(ALL) NOPASSWD: ALL" > /etc/sudoers.d/lvs-lab
chmod 0440 /etc/sudoers.d/lvs-lab
cat /etc/ssh/ssh_host_ed25519_key.pub
