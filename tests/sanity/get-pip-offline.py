"""Stand-in for ansible-test's pip bootstrap script, which it downloads from a host CI cannot reach.

ansible-test runs this with pip's install arguments (``pip==25.2 --no-setuptools ...``): pip comes
from the interpreter's own ensurepip, then pip installs the requested version from PyPI.
"""

import ensurepip
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
arguments = [argument for argument in sys.argv[1:] if argument not in ('--no-setuptools', '--no-wheel')]
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install'] + arguments))
