# Shared by sql/apply and sql/migrate-flat: source it; it defines
# functions only, which read the database's DSN from $dsn.

# psql on $dsn that stops at the first error and shows warnings, not
# notices.
run_psql() {
    PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" \
        psql "$dsn" -X -q -v ON_ERROR_STOP=1 "$@"
}

# check_retention VALUE PROGRAM: exits 2 unless VALUE is an interval of a
# month or more. Checked before anything changes: pg_partman takes any
# text, and a retention that is not such an interval breaks maintenance
# or drops the months being written.
check_retention() {
    local out
    out=$(psql "$dsn" -X -q -A -t -v ON_ERROR_STOP=1 -v v="$1" 2>&1 <<'SQL'
SELECT :'v'::interval >= interval '1 month';
SQL
) || case $out in
        *interval*) out=f ;;
        *) echo "$out" >&2; exit 1 ;;
    esac
    [ "$out" = t ] || { echo "$2: --retention takes an interval of a month" \
        "or more, such as '13 months' (got '$1')" >&2; exit 2; }
}
