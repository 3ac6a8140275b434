# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files that make live kernel state survive a reboot, written only when their content changes.

Private to the lvs.cluster collection; not a public API.
"""

from __future__ import annotations

import os
import tempfile


def read_text(path):
    """Return the file's content, or None when it does not exist."""
    try:
        with open(path) as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write_if_changed(module, path, content, mode=0o644):
    """Write content to path atomically unless it is there already; return whether it changed.

    In check mode nothing is written and the return value predicts the real run.
    """
    if read_text(path) == content:
        return False
    if module.check_mode:
        return True
    directory = os.path.dirname(path) or '.'
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix='.lvs-cluster-')
    with os.fdopen(handle, 'w') as stream:
        stream.write(content)
    os.chmod(temporary, mode)
    module.atomic_move(temporary, path)
    return True


def remove_if_present(module, path):
    """Remove path if it exists; return whether it did (or, in check mode, would)."""
    if not os.path.lexists(path):
        return False
    if not module.check_mode:
        os.remove(path)
    return True


def file_diff(path, before, after):
    """Return one Ansible diff entry for a file whose content goes from before to after (None = absent)."""
    return {'before_header': path, 'after_header': path, 'before': before or '', 'after': after or ''}
