"""The lab's bytecode cache for modules imported from zip files (Ansible's AnsiballZ payloads).

Lab only (the node image; never shipped in the collection). Python compiles a module imported from a zip
every time: for an Ansible module that is ansible.module_utils.basic and its imports, about 1.2 s of each
module call under the lab's emulated CPU (0.1 s on real hardware). This path hook caches each compiled
module under /var/cache/lvs-lab-codecache, keyed by the SHA-256 of its source, and gives the code object
the file name of this import, so that tracebacks and __file__ read as without it. A source it cannot
read, or a cache it cannot write, falls back to Python's own zipimport.
"""

import hashlib
import marshal
import os
import sys
import zipimport

CACHE = '/var/cache/lvs-lab-codecache'


def _renamed(code, filename):
    """The code object and every code object nested in it, with co_filename set to filename."""
    constants = tuple(_renamed(constant, filename) if isinstance(constant, type(code)) else constant
                      for constant in code.co_consts)
    return code.replace(co_filename=filename, co_consts=constants)


class CachingZipImporter(zipimport.zipimporter):
    """zipimport.zipimporter that keeps the code it compiles."""

    def get_code(self, fullname):
        source = self.get_source(fullname)
        if source is None:
            return super().get_code(fullname)
        filename = self.get_filename(fullname)
        cached = os.path.join(CACHE, '%s-%s' % (sys.implementation.cache_tag, hashlib.sha256(
            source.encode('utf-8', 'surrogateescape')).hexdigest()))
        try:
            with open(cached, 'rb') as stream:
                return _renamed(marshal.load(stream), filename)
        except (OSError, ValueError, EOFError, TypeError):
            pass
        code = compile(source, filename, 'exec', dont_inherit=True)
        try:
            os.makedirs(CACHE, exist_ok=True)
            partial = '%s.%d' % (cached, os.getpid())
            with open(partial, 'wb') as stream:
                marshal.dump(code, stream)
            os.replace(partial, cached)
        except OSError:
            pass
        return code


sys.path_hooks[:] = [CachingZipImporter if hook is zipimport.zipimporter else hook for hook in sys.path_hooks]
