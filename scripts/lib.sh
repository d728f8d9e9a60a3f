# Shared by scripts/run-sink, scripts/test and bench/run: installing what is
# missing, building, and running a private PostgreSQL cluster.
# Source it; it defines functions only.

KS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KS_BUILD=${KS_BUILD:-$KS_ROOT/build}
KS_PG_BIN=${KS_PG_BIN:-/usr/lib/postgresql/15/bin}

# Debian 12 packages the build, the tests and the embedded database need.
KS_PACKAGES=(g++ meson ninja-build pkg-config libboost1.81-dev libpq-dev
    libsimdjson-dev libzstd-dev zlib1g-dev libsnappy-dev libssl-dev
    libtomlplusplus-dev catch2 libcli11-dev postgresql-15
    postgresql-client-15 postgresql-15-partman postgresql-15-cron zstd gzip
    curl)

# Server settings for a cluster whose database "koreshield" gets its
# maintenance scheduled by pg_cron (sql/60_schedule.sql). Background
# workers rather than libpq connections: the embedded clusters listen on
# a unix socket only, and pg_cron would connect to localhost.
KS_PG_CRON=(shared_preload_libraries=pg_cron cron.database_name=koreshield
    cron.use_background_workers=on max_worker_processes=16)

ks_log() { printf '%s\n' "$*" >&2; }

# Arithmetic in awk: ks_calc FORMAT EXPR [NAME=VALUE...]. The parentheses
# keep a ">" in EXPR a comparison, not an output redirection.
ks_calc() {
    local format=$1 expr=$2 args=() a
    shift 2
    for a; do args+=(-v "$a"); done
    awk "${args[@]}" "BEGIN { printf \"$format\", ($expr) }" </dev/null
}
ks_die() { ks_log "error: $*"; exit 1; }

# Installs whichever of KS_PACKAGES (plus any extra names given) are not
# installed yet. Needs root or sudo only when something is missing.
ks_ensure_packages() {
    local missing=() p
    for p in "${KS_PACKAGES[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0

    ks_log "installing: ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null ||
            ks_die "missing packages and no sudo: ${missing[*]}"
        sudo=(sudo)
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Configures (once) and builds everything in $KS_BUILD.
ks_build() {
    if [ ! -f "$KS_BUILD/build.ninja" ]; then
        meson setup "$KS_BUILD" "$KS_ROOT" --buildtype=release \
            -Db_ndebug=true >&2
    fi
    ninja -C "$KS_BUILD" >&2
}

# PostgreSQL refuses to run as root: as root, run its tools as the
# postgres user, which must own the cluster's directories.
ks_as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# ks_pg_start DIR [extra postgres -c settings...]
# Creates a cluster in DIR/data if there is none and starts it listening
# only on a unix socket in DIR/run (no TCP port to collide with). Prints
# the libpq DSN of the server on stdout.
ks_pg_start() {
    local dir=$1; shift
    mkdir -p "$dir/run"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$dir" "$dir/run"
        runuser -u postgres -- test -x "$dir" ||
            ks_die "the postgres user cannot enter $dir; choose another place"
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        ks_as_pg "$KS_PG_BIN/initdb" -D "$dir/data" -A trust -U postgres \
            -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
            { cat "$dir/initdb.log" >&2; ks_die "initdb failed"; }
    fi
    local opts="-k $dir/run -p 5432 -c listen_addresses=''" s
    for s in "$@"; do opts="$opts -c $s"; done
    if ! ks_as_pg "$KS_PG_BIN/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
    then
        ks_as_pg "$KS_PG_BIN/pg_ctl" -D "$dir/data" -o "$opts" \
            -l "$dir/data/postgresql.log" -w start >&2 ||
            { tail -20 "$dir/data/postgresql.log" >&2;
              ks_die "PostgreSQL did not start"; }
    fi
    printf 'host=%s port=5432 user=postgres' "$dir/run"
}

# ks_pg_stop DIR: stops the cluster in DIR/data if it runs.
ks_pg_stop() {
    local dir=$1
    [ -f "$dir/data/postmaster.pid" ] || return 0
    ks_as_pg "$KS_PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop \
        >/dev/null 2>&1 || true
}

# ks_pg_crash DIR: stops the cluster in DIR/data the way a crash does
# (immediate shutdown: sessions end without a FATAL, recovery at the next
# start), for tests of what clients make of it.
ks_pg_crash() {
    local dir=$1
    ks_as_pg "$KS_PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop \
        >/dev/null 2>&1
}

# ks_psql DSN [psql args...]: psql that stops at the first error.
ks_psql() {
    local dsn=$1; shift
    psql "$dsn" -X -q -v ON_ERROR_STOP=1 "$@"
}
