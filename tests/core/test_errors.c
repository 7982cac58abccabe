/* Error codes, aio_strerror and aio_err_name: every code has one distinct
 * name and message, names map back to their codes, the values are the ones
 * the ABI promises, and codes nobody listed still get a static string. */
#include "support.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

typedef struct known_code {
    int code;
    int value; /* written out by hand: the ABI */
    const char *name;
} known_code;

/* The library's codes, listed by hand (not from the table): the table, the
 * constants and this list must agree. */
static const known_code library_codes[] = {
    {AIO_ECANCELLED, -ECANCELED, "AIO_ECANCELLED"},
    {AIO_ETIMEDOUT, -ETIMEDOUT, "AIO_ETIMEDOUT"},
    {AIO_ESTALE, -4096, "AIO_ESTALE"},
    {AIO_EFOREIGN, -4097, "AIO_EFOREIGN"},
    {AIO_ENOTDONE, -4098, "AIO_ENOTDONE"},
    {AIO_EDONE, -4099, "AIO_EDONE"},
    {AIO_EISTASK, -4100, "AIO_EISTASK"},
    {AIO_ENOTTASK, -4101, "AIO_ENOTTASK"},
    {AIO_ECLOSED, -4102, "AIO_ECLOSED"},
    {AIO_ERUNNING, -4103, "AIO_ERUNNING"},
    {AIO_EDEADLOCK, -4104, "AIO_EDEADLOCK"},
    {AIO_ENOREF, -4105, "AIO_ENOREF"},
    {AIO_ENULL, -4106, "AIO_ENULL"},
    {AIO_ESTOPPED, -4107, "AIO_ESTOPPED"},
    {AIO_ESHUTDOWN, -4108, "AIO_ESHUTDOWN"},
    {AIO_ENOTLOCKED, -4109, "AIO_ENOTLOCKED"},
    {AIO_EBROKEN, -4110, "AIO_EBROKEN"},
    {AIO_EINREPORT, -4111, "AIO_EINREPORT"},
    {AIO_EGROUP, -4112, "AIO_EGROUP"},
    {AIO_EINCOMPLETE, -4113, "AIO_EINCOMPLETE"},
    {AIO_ELIMIT, -4114, "AIO_ELIMIT"},
    {AIO_ENOTFOUND, -4115, "AIO_ENOTFOUND"},
    {AIO_ERESOLVE, -4116, "AIO_ERESOLVE"},
};
enum { n_library = sizeof library_codes / sizeof library_codes[0] };

/* The errno values the library's headers document as returned: each must
 * have its own name. */
static const known_code documented_errno[] = {
    {-EINVAL, -EINVAL, "-EINVAL"},
    {-ENOMEM, -ENOMEM, "-ENOMEM"},
    {-EBADF, -EBADF, "-EBADF"},
    {-EAGAIN, -EAGAIN, "-EAGAIN"},
    {-EOVERFLOW, -EOVERFLOW, "-EOVERFLOW"},
    {-ENOENT, -ENOENT, "-ENOENT"},
    {-EPIPE, -EPIPE, "-EPIPE"},
    {-ECONNRESET, -ECONNRESET, "-ECONNRESET"},
    {-ECONNREFUSED, -ECONNREFUSED, "-ECONNREFUSED"},
    {-EMFILE, -EMFILE, "-EMFILE"},
    {-ENFILE, -ENFILE, "-ENFILE"},
    {-EADDRINUSE, -EADDRINUSE, "-EADDRINUSE"},
    {-EADDRNOTAVAIL, -EADDRNOTAVAIL, "-EADDRNOTAVAIL"},
    {-ENOTCONN, -ENOTCONN, "-ENOTCONN"},
    {-EHOSTUNREACH, -EHOSTUNREACH, "-EHOSTUNREACH"},
    {-ENETUNREACH, -ENETUNREACH, "-ENETUNREACH"},
    {-EINTR, -EINTR, "-EINTR"},
    {-EBUSY, -EBUSY, "-EBUSY"},
    {-ESRCH, -ESRCH, "-ESRCH"},
    {-ECHILD, -ECHILD, "-ECHILD"},
    {-EPERM, -EPERM, "-EPERM"},
    {-EACCES, -EACCES, "-EACCES"},
    {-ENOSPC, -ENOSPC, "-ENOSPC"},
    {-EIO, -EIO, "-EIO"},
};
enum { n_documented = sizeof documented_errno / sizeof documented_errno[0] };

/* Both tables, expanded here as a user would. */
typedef struct table_entry {
    int code;
    const char *name;
    const char *message;
} table_entry;
static const table_entry table[] = {
#define LIBRARY_ENTRY(name, value, message) {AIO_##name, "AIO_" #name, message},
    AIO_ERROR_MAP(LIBRARY_ENTRY)
#undef LIBRARY_ENTRY
#define ERRNO_ENTRY(name, message) {-name, "-" #name, message},
        AIO_ERRNO_MAP(ERRNO_ENTRY)
#undef ERRNO_ENTRY
};
enum { n_table = sizeof table / sizeof table[0] };

static const table_entry *by_name(const char *name) {
    for (int i = 0; i < n_table; i++)
        if (strcmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

/* The constants have the values written above, the table holds exactly those
 * library codes, and aio_err_name gives the name written above. */
static void library_codes_match_the_hand_written_list(void **state) {
    (void)state;
    int library_in_table = 0;
#define COUNT(name, value, message) library_in_table++;
    AIO_ERROR_MAP(COUNT)
#undef COUNT
    assert_int_equal(library_in_table, n_library);
    for (int i = 0; i < n_library; i++) {
        const known_code *k = &library_codes[i];
        assert_int_equal(k->code, k->value);
        assert_string_equal(aio_err_name(k->code), k->name);
        const table_entry *e = by_name(k->name);
        assert_non_null(e);
        assert_int_equal(e->code, k->value);
        assert_string_equal(aio_strerror(k->code), e->message);
    }
    /* The library's own codes (all but the two negated errno values) lie in
     * the reserved range, with room left for new ones. */
    for (int i = 2; i < n_library; i++) {
        assert_true(library_codes[i].code <= AIO_E_BASE);
        assert_true(library_codes[i].code >= AIO_E_LAST);
    }
    assert_int_equal(AIO_E_BASE, -4096);
    assert_int_equal(AIO_E_LAST, -4199);
}

/* Existing messages did not change when they moved into the table. */
static void messages_of_existing_codes_are_unchanged(void **state) {
    (void)state;
    assert_string_equal(aio_strerror(0), "success");
    assert_string_equal(aio_strerror(AIO_ECANCELLED), "cancelled");
    assert_string_equal(aio_strerror(AIO_ETIMEDOUT), "timed out");
    assert_string_equal(aio_strerror(AIO_ESTALE), "stale handle: the future or callback was freed");
    assert_string_equal(aio_strerror(AIO_ENULL), "null handle");
    assert_string_equal(aio_strerror(AIO_EDEADLOCK),
                        "deadlock: nothing left could complete the awaited future");
}

static void documented_errno_values_have_names(void **state) {
    (void)state;
    for (int i = 0; i < n_documented; i++) {
        const known_code *k = &documented_errno[i];
        assert_string_equal(aio_err_name(k->code), k->name);
        const table_entry *e = by_name(k->name);
        assert_non_null(e);
        assert_int_equal(e->code, k->code);
        assert_string_equal(aio_strerror(k->code), e->message);
    }
    /* Negated ECANCELED and ETIMEDOUT are the library's names. */
    assert_string_equal(aio_err_name(-ECANCELED), "AIO_ECANCELLED");
    assert_string_equal(aio_err_name(-ETIMEDOUT), "AIO_ETIMEDOUT");
}

/* One value of each kind neither table lists. */
static const int unlisted[] = {AIO_E_LAST, -4095, AIO_E_LAST - 1, 1};
enum { n_unlisted = sizeof unlisted / sizeof unlisted[0] };

/* Every table entry: a distinct code, name and message, none of them empty
 * or one of the strings for unlisted codes. */
static void every_entry_is_distinct(void **state) {
    (void)state;
    for (int i = 0; i < n_table; i++) {
        assert_true(table[i].code < 0);
        assert_true(table[i].message[0] != '\0');
        assert_string_not_equal(aio_err_name(table[i].code), "unknown");
        for (int u = 0; u < n_unlisted; u++)
            assert_string_not_equal(aio_strerror(table[i].code), aio_strerror(unlisted[u]));
        for (int j = 0; j < i; j++) {
            assert_int_not_equal(table[i].code, table[j].code);
            assert_string_not_equal(table[i].name, table[j].name);
            assert_string_not_equal(table[i].message, table[j].message);
        }
    }
}

/* Over every value from below the library's range to past errno's: a code
 * with a name is in the table under that name (name -> code -> name), and
 * one without a name is in neither table. */
static void names_round_trip(void **state) {
    (void)state;
    int named = 0;
    for (int code = AIO_E_LAST - 100; code <= 5000; code++) {
        const char *name = aio_err_name(code);
        const char *message = aio_strerror(code);
        assert_non_null(name);
        assert_non_null(message);
        if (code == 0) {
            assert_string_equal(name, "0");
            continue;
        }
        const table_entry *e = by_name(name);
        if (strcmp(name, "unknown") == 0) {
            assert_null(e);
            continue;
        }
        named++;
        assert_non_null(e);
        assert_int_equal(e->code, code);
        assert_string_equal(message, e->message);
        assert_ptr_equal(aio_err_name(code), name); /* static: the same string every time */
    }
    assert_int_equal(named, n_table);
}

/* Codes nobody listed: a static, useful string, never NULL. */
static void unlisted_codes_get_static_strings(void **state) {
    (void)state;
    /* An unused value of the library's range. */
    assert_string_equal(aio_err_name(AIO_E_LAST), "unknown");
    assert_string_equal(aio_strerror(AIO_E_LAST), "unknown libaio error");
    assert_string_equal(aio_strerror(AIO_ERESOLVE - 1), "unknown libaio error");
    /* Negative, but not an errno value any table lists. */
    assert_string_equal(aio_err_name(-4095), "unknown");
    assert_string_equal(aio_strerror(-4095), "system error not in libaio's table");
    /* Below the library's range, and the extremes. */
    assert_string_equal(aio_err_name(AIO_E_LAST - 1), "unknown");
    assert_string_equal(aio_strerror(AIO_E_LAST - 1), "unknown error");
    assert_string_equal(aio_err_name(INT_MIN), "unknown");
    assert_string_equal(aio_strerror(INT_MIN), "unknown error");
    /* Positive: a count, or errno without its minus sign. */
    assert_string_equal(aio_err_name(EINVAL), "unknown");
    assert_string_equal(aio_strerror(EINVAL), "not an error code: libaio's error codes are negative");
    assert_string_equal(aio_err_name(INT_MAX), "unknown");
    assert_string_equal(aio_strerror(INT_MAX), "not an error code: libaio's error codes are negative");
}

/* The assertion helpers: they pass on a match, and their message names both
 * codes. */
static void assertion_helpers_print_names(void **state) {
    (void)state;
    assert_aio_ok(0);
    assert_aio_err(AIO_ECANCELLED, AIO_ECANCELLED);
    assert_aio_err(-EINVAL, -EINVAL);
    char buf[256], want[256]; /* errno values differ between systems */
    snprintf(want, sizeof want, "expected AIO_ECANCELLED (%d), got AIO_ETIMEDOUT (%d: timed out)", -ECANCELED,
             -ETIMEDOUT);
    assert_string_equal(test_code_mismatch(buf, sizeof buf, AIO_ETIMEDOUT, AIO_ECANCELLED), want);
    snprintf(want, sizeof want, "expected 0 (0), got -EINVAL (%d: invalid argument)", -EINVAL);
    assert_string_equal(test_code_mismatch(buf, sizeof buf, -EINVAL, 0), want);
    assert_string_equal(test_code_mismatch(buf, sizeof buf, 1LL << 40, AIO_ESTALE),
                        "expected AIO_ESTALE (-4096), got unknown (1099511627776: unknown error)");
}

/* A real call's error, through the helpers. */
static void a_real_error_by_name(void **state) {
    (void)state;
    aio_loop *loop = test_loop_new(1);
    aio_future nul = {0};
    assert_aio_err(aio_future_done(loop, nul), AIO_ENULL);
    aio_future f = aio_future_new(loop);
    assert_aio_err(aio_future_error(loop, f), AIO_ENOTDONE);
    assert_aio_err(aio_future_set_error(loop, f, EINVAL), -EINVAL);
    assert_aio_ok(aio_future_set_error(loop, f, -ECONNRESET));
    assert_aio_err(aio_future_error(loop, f), -ECONNRESET);
    assert_aio_ok(aio_future_release(loop, f));
    assert_aio_ok(aio_loop_free(loop));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(library_codes_match_the_hand_written_list),
        cmocka_unit_test(messages_of_existing_codes_are_unchanged),
        cmocka_unit_test(documented_errno_values_have_names),
        cmocka_unit_test(every_entry_is_distinct),
        cmocka_unit_test(names_round_trip),
        cmocka_unit_test(unlisted_codes_get_static_strings),
        cmocka_unit_test(assertion_helpers_print_names),
        cmocka_unit_test(a_real_error_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
