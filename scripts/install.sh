#!/usr/bin/env bash
# Builds the release binaries and installs them; with --system also the service: a dedicated
# user, the state folder, the config file and the systemd unit. Run it again to upgrade: the
# binaries are replaced, the config and the state are kept, and the database's migrations run
# when the daemon starts.
#
#   scripts/install.sh                       # build, install to /usr/local (lampctl, lamplighterd, lampsim)
#   scripts/install.sh --prefix ~/.local     # for one user, no root needed
#   sudo scripts/install.sh --system         # also the service (user lamplighter, /var/lib/lamplighter, /etc/lamplighter)
#
# Options: --prefix DIR (default /usr/local); --system; --from DIR (install binaries already
# built in DIR, e.g. .build/release, instead of building); --destdir DIR (stage everything
# under DIR, for packages and tests: no user is created, systemd is not told).
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=/usr/local
system=false
from=
destdir=
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2"; shift 2 ;;
        --prefix=*) prefix="${1#*=}"; shift ;;
        --system) system=true; shift ;;
        --from) from="$2"; shift 2 ;;
        --from=*) from="${1#*=}"; shift ;;
        --destdir) destdir="$2"; shift 2 ;;
        --destdir=*) destdir="${1#*=}"; shift ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown option '$1' (--help lists them)" >&2; exit 64 ;;
    esac
done
case "$prefix" in /*) ;; *) prefix="$(pwd)/$prefix" ;; esac

if [ -z "$from" ]; then
    scripts/setup.sh
    echo "== building the release binaries (several minutes the first time)"
    swift build -c release -j 2
    from="$(swift build -c release --show-bin-path)"
fi
for program in lamplighterd lampctl lampsim; do
    [ -x "$from/$program" ] || { echo "install.sh: no $program in $from" >&2; exit 66; }
done
[ -d "$from/Lamplighter_Controller.resources" ] || {
    echo "install.sh: no Lamplighter_Controller.resources in $from (the daemon serves /openapi.json from it)" >&2; exit 66; }

root="$destdir$prefix"
libexec="$root/lib/lamplighter"
echo "== installing to $prefix${destdir:+ (staged under $destdir)}"
install -d "$root/bin" "$libexec"
# The programs and their resource bundles live together in lib/lamplighter (the daemon looks
# for Lamplighter_Controller.resources beside its resolved executable); bin has links.
for program in lamplighterd lampctl lampsim; do
    install -m 0755 "$from/$program" "$libexec/$program.new"
    mv -f "$libexec/$program.new" "$libexec/$program"
    ln -sfn "../lib/lamplighter/$program" "$root/bin/$program"
done
for bundle in "$from"/*.resources; do
    rm -rf "$libexec/$(basename "$bundle")"
    cp -R "$bundle" "$libexec/"
done

# Shell completions, from the programs themselves.
install -d "$root/share/bash-completion/completions" "$root/share/zsh/site-functions" "$root/share/fish/vendor_completions.d"
for program in lamplighterd lampctl lampsim; do
    "$libexec/$program" --generate-completion-script bash > "$root/share/bash-completion/completions/$program"
    "$libexec/$program" --generate-completion-script zsh > "$root/share/zsh/site-functions/_$program"
    "$libexec/$program" --generate-completion-script fish > "$root/share/fish/vendor_completions.d/$program.fish"
done
install -d "$root/share/lamplighter"
install -m 0644 packaging/lamplighterd.conf "$root/share/lamplighter/lamplighterd.conf.example"
sed "s|@PREFIX@|$prefix|g" packaging/lamplighterd.service > "$root/share/lamplighter/lamplighterd.service"

if $system; then
    etc="$destdir/etc/lamplighter"
    state="$destdir/var/lib/lamplighter"
    unit="$destdir/etc/systemd/system/lamplighterd.service"
    if [ -z "$destdir" ] && ! id lamplighter >/dev/null 2>&1; then
        echo "== creating the system user lamplighter"
        useradd --system --home-dir /var/lib/lamplighter --no-create-home --shell /usr/sbin/nologin lamplighter
    fi
    install -d -m 0750 "$state" "$etc"
    if [ -z "$destdir" ]; then chown lamplighter:lamplighter "$state"; chown root:lamplighter "$etc"; fi
    if [ ! -e "$etc/lamplighterd.conf" ]; then
        install -m 0640 packaging/lamplighterd.conf "$etc/lamplighterd.conf"
        [ -n "$destdir" ] || chown root:lamplighter "$etc/lamplighterd.conf"
        echo "== wrote $etc/lamplighterd.conf (edit it: time zone, place, ports)"
    else
        echo "== kept $etc/lamplighterd.conf"
    fi
    install -d "$(dirname "$unit")"
    install -m 0644 "$root/share/lamplighter/lamplighterd.service" "$unit"
    if [ -z "$destdir" ] && [ -d /run/systemd/system ]; then
        systemctl daemon-reload
        echo "== installed; start it with: systemctl enable --now lamplighterd"
        echo "   upgrading: run this again, then: systemctl restart lamplighterd (migrations run on start)"
        echo "   the first admin token: /var/lib/lamplighter/lamplighter.admin-token"
    else
        echo "== installed the unit $unit (no running systemd to tell)"
    fi
fi
echo "== done: $("$libexec/lamplighterd" --version) in $prefix/bin"
