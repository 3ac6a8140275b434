"""Stand-in for ansible-test's pip bootstrap script, which it downloads from a host CI cannot reach.

ansible-test runs this with pip's install arguments (``pip==25.2 --no-setuptools ...``): pip comes
from the interpreter's own ensurepip, then pip installs the requested version from PyPI. ansible-test
clears the environment (PIP_CERT, SSL_CERT_FILE), and the pip that Python 3.11 bundles trusts only its
own CA list, so the system's CA bundle is named explicitly; the pip it installs uses the system store.
"""

import ensurepip
import os
import ssl
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
arguments = [argument for argument in sys.argv[1:] if argument not in ('--no-setuptools', '--no-wheel')]
paths = ssl.get_default_verify_paths()
bundles = [path for path in (paths.cafile, paths.openssl_cafile, '/etc/ssl/certs/ca-certificates.crt')
           if path and os.path.isfile(path)]
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install'] + ['--cert', bundles[0]] * bool(bundles) + arguments))
