"""The lvs.cluster lab: a Debian VM with IPVS and Docker, built only from Debian packages.

Run it as python3 lab/lab.py COMMAND:

  lab.py up [--host-docker]   build (cached) and boot the VM, wait for Docker and the node image
  lab.py down                 stop the VM (no process or port left behind)
  lab.py status               say what runs
  lab.py env                  print the DOCKER_HOST line to eval
  lab.py shell                a root shell in the VM (through Docker, nsenter into PID 1)
  lab.py build                build the images only
  lab.py node-root RELEASE    print the path of a release's node root tarball (trixie, bookworm), building it when
                              missing: host-side tests run that release's programs in it
  lab.py ssh-proxy CONTAINER  an SSH ProxyCommand: carries the session to `sshd -i` in a lab container (the lab's
                              networks are not routed to the host; ssh -o ProxyCommand="python3 lab/lab.py ssh-proxy %h")

Environment: LAB_PORT (22375), LAB_ACCEL (auto|kvm|tcg), LAB_MEM (6144 MiB), LAB_CPUS (2),
LAB_CACHE (${XDG_CACHE_HOME:-~/.cache}/lvs-cluster-lab), LAB_MIRROR (deb.debian.org).
Needs root (debootstrap) and the Debian packages in lab/host-packages.txt.
"""

import concurrent.futures
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECIPE = HERE / 'recipe'
# the VM's kernel and Docker come from Debian's stable release; the node images (the users' servers) from both
# releases the roles are tested on, first the one the VM's own tools use
VM_SUITE = 'trixie'
NODE_SUITES = ('trixie', 'bookworm')
PORT = int(os.environ.get('LAB_PORT', '22375'))
MEMORY = os.environ.get('LAB_MEM', '6144')
CPUS = os.environ.get('LAB_CPUS', '2')
MIRROR = os.environ.get('LAB_MIRROR', 'http://deb.debian.org/debian')
CACHE = Path(os.environ.get('LAB_CACHE') or
             Path(os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache') / 'lvs-cluster-lab')
DISK_SIZE = '12G'
BOOT_TIMEOUT = 300
STARTED = time.monotonic()


class LabError(Exception):
    """Something the user must fix or know; printed without a traceback."""


def node_image(suite):
    """The name of the node image of a Debian release, e.g. lvs-node:trixie."""
    return 'lvs-node:' + suite


def step(message):
    print('[lab %6.1fs] %s' % (time.monotonic() - STARTED, message), flush=True)


def run(*command, **options):
    """Run a command, raising LabError with its output tail when it fails."""
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, check=False, **options)
    if result.returncode != 0:
        raise LabError('%s failed (rc=%d):\n%s' % (' '.join(map(str, command[:3])), result.returncode,
                                                   (result.stdout + result.stderr)[-3000:]))
    return result.stdout


def recipe_key():
    """Hash of everything the images are made from: rebuilt only when this changes."""
    digest = hashlib.sha256()
    for path in sorted(RECIPE.rglob('*')):
        if path.is_file():
            digest.update(path.relative_to(HERE).as_posix().encode() + b'\0' + path.read_bytes())
    digest.update(('%s %s %s' % (VM_SUITE, ' '.join(NODE_SUITES), MIRROR)).encode())
    return digest.hexdigest()[:16]


def images_dir():
    return CACHE / ('images-' + recipe_key())


def run_dir():
    return CACHE / 'run'


def packages(name):
    lines = (RECIPE / name).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith('#')]


def require_tools(*tools):
    """Fail with the Debian package to install when a host tool is missing."""
    missing = {tool: package for tool, package in tools if shutil.which(tool) is None}
    if missing:
        raise LabError('missing on this host: %s. Install with: apt-get install %s' % (
            ', '.join(missing), ' '.join(sorted(set(missing.values())))))


def debootstrap(target, package_list, suite):
    # a .deb cache per root: the node and the VM roots are bootstrapped at the same time
    debs = CACHE / ('debs-%s' % target.name)
    debs.mkdir(parents=True, exist_ok=True)
    run('debootstrap', '--variant=minbase', '--cache-dir=%s' % debs,
        '--include=' + ','.join(packages(package_list)), suite, target, MIRROR)


def copy_overlay(name, rootfs):
    """Copy lab/recipe/<name>/ over the root file system."""
    shutil.copytree(RECIPE / name, rootfs, dirs_exist_ok=True, symlinks=True)


def build_node(work, suite):
    rootfs = work / ('node-' + suite)
    step('debootstrap %s node root (%d packages)' % (suite, len(packages('node-packages.txt'))))
    debootstrap(rootfs, 'node-packages.txt', suite)
    copy_overlay('node-files', rootfs)
    run('chroot', rootfs, 'systemctl', 'disable', 'apache2', 'keepalived', 'ssh', 'prometheus-node-exporter', 'frr')
    run('chroot', rootfs, 'systemctl', 'mask', *packages('node-masked-units.txt'))
    run('chroot', rootfs, 'apt-get', 'clean')
    step('packing the %s node root' % suite)
    run('tar', '--numeric-owner', '--xattrs', '-C', rootfs, '-cf', work / 'node.tar', '.')
    shutil.rmtree(rootfs)
    step('%s node root packed' % suite)
    return work / 'node.tar'


def build_vm(work):
    rootfs = work / 'vm'
    step('debootstrap %s VM root (kernel, docker.io)' % VM_SUITE)
    debootstrap(rootfs, 'vm-packages.txt', VM_SUITE)
    copy_overlay('vm-files', rootfs)
    run('chroot', rootfs, 'systemctl', 'enable', 'systemd-networkd')
    run('chroot', rootfs, 'passwd', '-d', 'root')
    run('chroot', rootfs, 'apt-get', 'clean')
    for name in ('vmlinuz', 'initrd.img'):
        shutil.copy(sorted((rootfs / 'boot').glob(name + '-*'))[-1], work / name)
    step('making the %s disk image' % DISK_SIZE)
    run('mkfs.ext4', '-q', '-L', 'lab-root', '-d', rootfs, work / 'disk.img', DISK_SIZE)
    shutil.rmtree(rootfs)


def node_tarball(suite):
    """Return this recipe's node root tarball of a Debian release, building it when missing."""
    tarball = CACHE / ('node-%s-%s.tar' % (suite, recipe_key()))
    if tarball.exists():
        return tarball
    require_tools(('debootstrap', 'debootstrap'))
    if os.geteuid() != 0:
        raise LabError('building the lab needs root (debootstrap, chroot): run it as root once')
    CACHE.mkdir(parents=True, exist_ok=True)
    for old in CACHE.glob('node-*.tar'):
        if not old.name.endswith('-%s.tar' % recipe_key()):
            old.unlink(missing_ok=True)  # the other release's build may have removed it first
    work = Path(tempfile.mkdtemp(prefix='node-', dir=CACHE))
    try:
        build_node(work, suite).replace(tarball)
    finally:
        shutil.rmtree(work)
    return tarball


def build():
    """Build the VM disk, kernel and initrd unless this recipe's images are cached.

    Stages are cached on their own (node tarball, VM disk, first boot), so a failed step is
    retried without redoing the ones before it.
    """
    target = images_dir()
    if (target / 'ready').exists():
        step('images cached (%s)' % target.name)
        return target
    require_tools(('mkfs.ext4', 'e2fsprogs'), ('qemu-system-x86_64', 'qemu-system-x86'), ('qemu-img', 'qemu-utils'))
    CACHE.mkdir(parents=True, exist_ok=True)
    # the node roots are bootstrapped beside the VM root (network and dpkg: about a minute saved on a cold build)
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(NODE_SUITES)) as background:
        node_tars = {suite: background.submit(node_tarball, suite) for suite in NODE_SUITES}
        if not (target / 'disk.img').exists():
            for old in CACHE.glob('images-*'):
                shutil.rmtree(old)
            work = Path(tempfile.mkdtemp(prefix='build-', dir=CACHE))
            try:
                build_vm(work)
                work.rename(target)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        node_tars = {suite: future.result() for suite, future in node_tars.items()}
    provision(target, node_tars)
    (target / 'ready').write_text(recipe_key())
    step('images built (%s)' % target.name)
    return target


def accel():
    """Return the accelerator: LAB_ACCEL, or kvm when a probe boot under KVM answers, else tcg."""
    choice = os.environ.get('LAB_ACCEL', 'auto')
    if choice != 'auto':
        return choice
    probe = CACHE / 'accel-probe'
    if probe.exists():
        return probe.read_text().strip()
    result = 'tcg'
    if os.access('/dev/kvm', os.R_OK | os.W_OK):
        kernel = next(CACHE.glob('images-*/vmlinuz'), None)
        if kernel is not None:
            step('probing KVM (20 s at most)')
            try:
                output = subprocess.run(
                    ['qemu-system-x86_64', '-accel', 'kvm', '-m', '256', '-kernel', str(kernel), '-append',
                     'console=ttyS0 panic=-1', '-nographic', '-no-reboot'],
                    capture_output=True, text=True, timeout=20, check=False).stdout
                result = 'kvm' if 'Kernel panic' in output else 'tcg'
            except subprocess.TimeoutExpired:
                result = 'tcg'
            probe.write_text(result)
    return result


def qemu_command(images, disk, console, pidfile, port, daemonize=True):
    command = [
        'qemu-system-x86_64', '-accel', accel(), '-m', MEMORY, '-smp', CPUS, '-cpu', 'max',
        '-kernel', images / 'vmlinuz', '-initrd', images / 'initrd.img',
        '-append', 'root=/dev/vda rw console=ttyS0 net.ifnames=0 systemd.show_status=1 panic=-1',
        '-drive', 'file=%s,if=virtio,format=%s' % (disk, 'qcow2' if str(disk).endswith('.qcow2') else 'raw'),
        '-netdev', 'user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:%d-:2375' % port,
        '-device', 'virtio-net-pci,netdev=net0',
        '-serial', 'file:%s' % console, '-display', 'none', '-no-reboot', '-pidfile', pidfile,
    ]
    return [str(part) for part in command] + (['-daemonize'] if daemonize else [])


def provision(work, node_tars):
    """Boot the fresh disk once, import the node images into its Docker, then power it off cleanly."""
    port = free_port()
    console = work / 'provision-console.log'
    step('first boot of the VM (%s)' % accel())
    process = subprocess.Popen(qemu_command(work, work / 'disk.img', console, work / 'provision.pid', port,
                                            daemonize=False))
    try:
        docker = DockerAPI('tcp://127.0.0.1:%d' % port)
        wait_for(docker.answers, 'Docker in the VM', console)
        for suite, node_tar in node_tars.items():
            step('importing %s (%d MiB) into the VM Docker' % (node_image(suite), node_tar.stat().st_size >> 20))
            docker.import_image(node_tar, node_image(suite))
        step('powering the VM off')
        docker.post('/containers/create?name=lab-poweroff', {
            'Image': node_image(NODE_SUITES[0]), 'Cmd': ['nsenter', '-t', '1', '-m', '-u', '-i', '-n', '-p', 'systemctl', 'poweroff'],
            'HostConfig': {'Privileged': True, 'PidMode': 'host', 'AutoRemove': True}})
        docker.post('/containers/lab-poweroff/start', {})
        process.wait(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def port_in_use(port):
    with socket.socket() as probe:
        return probe.connect_ex(('127.0.0.1', port)) == 0


class DockerAPI:
    """The few Docker Engine API calls the lab needs, over TCP or the unix socket."""

    def __init__(self, url):
        self.url = url

    def connect(self, timeout):
        """Return a socket connected to the engine."""
        if self.url.startswith('unix://'):
            sock = socket.socket(socket.AF_UNIX)
            sock.settimeout(timeout)
            sock.connect(self.url[len('unix://'):])
            return sock
        host, _colon, port = self.url.removeprefix('tcp://').rpartition(':')
        if not self.url.startswith('tcp://') or not host or not port.isdigit():
            raise LabError('DOCKER_HOST: %r is not valid; expected unix:///path/to/docker.sock or tcp://host:port '
                           '(or unset it: the lab then tries the local engine, else its VM)' % self.url)
        return socket.create_connection((host, int(port)), timeout=timeout)

    def _connection(self, timeout):
        connection = http.client.HTTPConnection('localhost', timeout=timeout)
        connection.sock = self.connect(timeout)
        return connection

    def request(self, method, path, body=None, headers=None, timeout=10):
        connection = self._connection(timeout)
        try:
            try:
                connection.request(method, path, body=body, headers=headers or {})
            except (BrokenPipeError, ConnectionResetError):
                pass  # the engine answered before reading the whole body: its answer says why
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def post(self, path, document):
        status, body = self.request('POST', path, json.dumps(document).encode(),
                                    {'Content-Type': 'application/json'}, timeout=120)
        if status >= 300:
            raise LabError('Docker API POST %s: %d %s' % (path, status, body[:300]))
        return body

    def answers(self):
        try:
            return self.request('GET', '/_ping', timeout=3)[0] == 200
        except OSError:
            return False

    def has_image(self, name):
        try:
            return self.request('GET', '/images/%s/json' % name, timeout=5)[0] == 200
        except OSError:
            return False

    def version(self):
        return json.loads(self.request('GET', '/version')[1])

    def exec_stream(self, container, command):
        """Start COMMAND in CONTAINER and return the raw socket of its stdin and multiplexed stdout/stderr."""
        created = json.loads(self.post('/containers/%s/exec' % container, {
            'AttachStdin': True, 'AttachStdout': True, 'AttachStderr': True, 'Tty': False, 'Cmd': command}))
        body = json.dumps({'Detach': False, 'Tty': False}).encode()
        sock = self.connect(timeout=60)
        sock.sendall(b'POST /exec/%s/start HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n'
                     b'Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: %d\r\n\r\n%s'
                     % (created['Id'].encode(), len(body), body))
        head = b''
        while b'\r\n\r\n' not in head:
            chunk = sock.recv(4096)
            if not chunk:
                raise LabError('Docker closed the exec stream of %s before it started' % container)
            head += chunk
        head, rest = head.split(b'\r\n\r\n', 1)
        if head.split()[1] not in (b'101', b'200'):
            raise LabError('Docker refused to start %s in %s: %s' % (command[0], container, head[:300]))
        sock.settimeout(None)
        return sock, rest

    def import_image(self, tarball, name):
        repository, tag = name.split(':')
        changes = 'changes=CMD%20%5B%22%2Flib%2Fsystemd%2Fsystemd%22%5D'  # Docker 20.10 takes no STOPSIGNAL here
        with open(tarball, 'rb') as stream:
            status, body = self.request('POST', '/images/create?fromSrc=-&repo=%s&tag=%s&%s' % (repository, tag, changes),
                                        stream, {'Content-Type': 'application/x-tar',
                                                 'Content-Length': str(os.path.getsize(tarball))}, timeout=900)
        if status >= 300 or b'error' in body:
            raise LabError('importing %s failed: %s' % (name, body[-300:]))


def console_tail(console, lines=30):
    try:
        return '\n'.join(Path(console).read_text(errors='replace').splitlines()[-lines:])
    except OSError:
        return '(no console output)'


def wait_for(ready, what, console, timeout=BOOT_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(2)
    raise LabError('%s did not answer within %d s. Last console lines (%s):\n%s' % (
        what, timeout, console, console_tail(console)))


def vm_pid():
    try:
        pid = int((run_dir() / 'vm.pid').read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def docker_host():
    return 'tcp://127.0.0.1:%d' % PORT


def host_docker():
    """Return the URL of a working Docker engine on this host whose kernel has IPVS, or None."""
    url = os.environ.get('DOCKER_HOST') or 'unix:///var/run/docker.sock'  # set but empty: as unset
    if '127.0.0.1:%d' % PORT in url:
        return None
    if not DockerAPI(url).answers():
        return None
    if not Path('/sys/module/ip_vs').exists() and subprocess.run(['modprobe', 'ip_vs'], capture_output=True, check=False).returncode:
        return None
    return url


def up(use_host_docker):
    url = host_docker() if use_host_docker in (None, True) else None
    if use_host_docker and url is None:
        raise LabError('--host-docker: no Docker engine with IPVS answers on this host (DOCKER_HOST or '
                       '/var/run/docker.sock, and modprobe ip_vs)')
    if url:
        step('using this host\'s Docker at %s (kernel has IPVS)' % url)
        ensure_node_images(DockerAPI(url))
        print('export DOCKER_HOST=%s' % url)
        return
    step('no Docker engine with IPVS on this host: using the VM')
    images = build()
    docker = DockerAPI(docker_host())
    if vm_pid() is None:
        if port_in_use(PORT):
            raise LabError('port 127.0.0.1:%d is taken by another program; set LAB_PORT to a free port' % PORT)
        boot(images)
    console = run_dir() / 'console.log'
    wait_for(docker.answers, 'Docker in the VM', console)
    step('Docker %s answers' % docker.version().get('Version'))
    images = [node_image(suite) for suite in NODE_SUITES]
    wait_for(lambda: all(map(docker.has_image, images)), 'the node images', console, timeout=120)
    step('%s present; the lab is up' % ', '.join(images))
    print('export DOCKER_HOST=%s' % docker_host())


def boot(images):
    """Boot a throwaway copy-on-write layer over the cached disk."""
    directory = run_dir()
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    overlay = directory / 'disk.qcow2'
    run('qemu-img', 'create', '-q', '-f', 'qcow2', '-b', images / 'disk.img', '-F', 'raw', overlay)
    mode = accel()
    step('booting the VM (%s, %s MiB, %s CPUs)' % (mode, MEMORY, CPUS))
    run(*qemu_command(images, overlay, directory / 'console.log', directory / 'vm.pid', PORT))


def ensure_node_images(docker):
    for suite in NODE_SUITES:
        image = node_image(suite)
        if docker.has_image(image):
            step('%s present' % image)
            continue
        tarball = node_tarball(suite)
        step('importing %s' % image)
        docker.import_image(tarball, image)


def down():
    pid = vm_pid()
    if pid is None:
        step('the VM is not running')
    else:
        step('stopping the VM (pid %d)' % pid)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and vm_pid() is not None:
            time.sleep(0.5)
        if vm_pid() is not None:
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(run_dir(), ignore_errors=True)
    if port_in_use(PORT):
        raise LabError('port 127.0.0.1:%d is still answering after the VM stopped' % PORT)
    step('stopped; port %d free' % PORT)


def status():
    pid = vm_pid()
    docker = DockerAPI(docker_host())
    if pid is None:
        step('the VM is not running (images %s)' % ('cached' if (images_dir() / 'ready').exists() else 'not built'))
        return 3
    answering = docker.answers()
    step('the VM runs (pid %d); Docker %s; %s' % (
        pid, 'answers' if answering else 'does not answer yet',
        ', '.join('%s %s' % (node_image(suite), 'present' if answering and docker.has_image(node_image(suite))
                             else 'absent') for suite in NODE_SUITES)))
    print('export DOCKER_HOST=%s' % docker_host())
    return 0 if answering else 1


def shell():
    if vm_pid() is None:
        raise LabError('the VM is not running: lab.py up first')
    docker_cli = shutil.which('docker')
    if docker_cli is None:
        raise LabError('lab.py shell uses a docker CLI (Debian package docker.io, or docker-ce-cli)')
    os.execvpe(docker_cli, [docker_cli, 'run', '--rm', '-it', '--privileged', '--pid=host', '--net=host',
                            node_image(NODE_SUITES[0]),
                            'nsenter', '-t', '1', '-m', '-u', '-i', '-n', '-p', 'bash', '-l'],
               dict(os.environ, DOCKER_HOST=docker_host()))


def ssh_proxy(container):
    """Carry this process's stdin and stdout to `sshd -i` in CONTAINER, through the Docker API (a ProxyCommand)."""
    docker = DockerAPI(os.environ.get('DOCKER_HOST') or docker_host())
    sock, pending = docker.exec_stream(container, [
        '/bin/sh', '-c', 'mkdir -p /run/sshd && exec /usr/sbin/sshd -i -o UsePAM=no -o LogLevel=ERROR'])

    def forward_stdin():
        while True:
            data = os.read(0, 65536)
            if not data:
                break
            sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)

    threading.Thread(target=forward_stdin, daemon=True).start()
    # the engine frames each write: stream (1 stdout, 2 stderr), three zero bytes, the length (big-endian)
    while True:
        while len(pending) < 8 or len(pending) < 8 + int.from_bytes(pending[4:8], 'big'):
            data = sock.recv(65536)
            if not data:
                return 0
            pending += data
        size = int.from_bytes(pending[4:8], 'big')
        frame = memoryview(pending)[8:8 + size]
        while frame:
            frame = frame[os.write(2 if pending[0] == 2 else 1, frame):]
        pending = pending[8 + size:]


def main(argv):
    command = argv[1] if len(argv) > 1 else 'status'
    try:
        if command == 'up':
            up(True if '--host-docker' in argv else (False if '--vm' in argv else None))
        elif command == 'down':
            down()
        elif command == 'status':
            return status()
        elif command == 'env':
            print('export DOCKER_HOST=%s' % (host_docker() or docker_host()))
        elif command == 'build':
            build()
        elif command == 'node-root' and len(argv) == 3 and argv[2] in NODE_SUITES:
            print(node_tarball(argv[2]))
        elif command == 'shell':
            shell()
        elif command == 'ssh-proxy' and len(argv) == 3:
            return ssh_proxy(argv[2])
        else:
            print(__doc__)
            return 2
    except LabError as error:
        print('lab: %s' % error, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
