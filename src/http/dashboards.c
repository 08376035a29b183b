/* SPDX-License-Identifier: MIT
 *
 * dashboards.c -- the web UI's dashboards as data (docs/ui.md): JSON
 * documents of widgets, the default one embedded in the binary
 * (web/dashboard-default.json, served also as a UI file), the ones a user
 * saved kept as NAME.json in ui.dashboards_dir (default
 * ARCHIVE/_flowlake/dashboards, created 0700 on the first save):
 *
 *   GET    /api/dashboards        the list: name, title, modified, source
 *   GET    /api/dashboards/NAME   the saved document, else the default for
 *                                 "VPC-Flow-Log-Analysis" and "default"
 *   PUT    /api/dashboards/NAME   validate and save (atomically), 200 with
 *                                 the stored bytes; 400/413 naming what is
 *                                 wrong
 *   DELETE /api/dashboards/NAME   remove the saved one (the default comes
 *                                 back); 404 when none is saved
 *
 * The document is stored byte for byte as sent: what GET returns is what
 * the editor (or an import) PUT. It is parsed with jansson, as every other
 * JSON body of the server, only to be checked.
 *
 * A save writes a temporary file of its own (mkostemp) in the same folder,
 * fsyncs it, renames it over NAME.json and fsyncs the folder: a crash
 * leaves the old document or the new one, never half of one, and two
 * saves at once never share a temporary file. Reading the folder is
 * bounded (MAX_LIST names).
 */
#define _GNU_SOURCE 1   /* mkostemp */
#include "../core/fl_config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/fl_error.h"
#include "../core/fl_fs.h"
#include "../core/fl_log.h"
#include "../core/fl_mem.h"
#include "dashboards.h"
#include "../server/server_int.h"
#include "ui.h"

#define MAX_LIST     1000      /* saved dashboards listed at most */
#define NAME_MAX_LEN 64
#define DEFAULT_PATH "/ui/dashboard-default.json"

/* The widget types the web UI draws (web/dashboard.js). */
static const char *const types[] = {
    "metric",           /* one metric's series: line or bar */
    "dimension_lines",  /* a metric's series, one line per dimension value */
    "actions",          /* accepted vs rejected: flows, bytes, packets */
    "top",              /* top-N table of summed metric series + other */
    "ingest",           /* the ingest figures of /api/status */
    "alarms",           /* alarms and their history */
    "sql",              /* a table of an SQL statement's rows */
};


int
fl_dashboard_name_ok(const char *name)
{
    size_t n = 0;
    if (name == NULL || name[0] == '.')
        return 0;
    for (; name[n] != '\0'; n++) {
        char ch = name[n];
        if (n >= NAME_MAX_LEN
            || !((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')
                 || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_'
                 || ch == '-'))
            return 0;
    }
    return n > 0;
}


/* Checks one optional member's JSON type; "what" names it in err. */
static int
check_type(json_t *o, const char *key, int (*is)(const json_t *),
           const char *want, const char *what, struct fl_err *err)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL || is(v))
        return 0;
    fl_err_set(err, FL_EPARSE, "%s: \"%s\" must be %s", what, key, want);
    return -1;
}


static int is_string(const json_t *v) { return json_is_string(v); }
static int is_object(const json_t *v) { return json_is_object(v); }
static int is_array(const json_t *v) { return json_is_array(v); }


/* A size or position: a whole number within [lo, hi]. */
static int
check_cell(json_t *w, const char *key, double lo, double hi,
           const char *what, struct fl_err *err)
{
    json_t *v = json_object_get(w, key);
    double d;
    if (v == NULL || !json_is_number(v)) {
        fl_err_set(err, FL_EPARSE, "%s: \"%s\" must be a number", what, key);
        return -1;
    }
    d = json_number_value(v);
    if (d < lo || d > hi || d != (double)(long long)d) {
        fl_err_set(err, FL_EPARSE, "%s: \"%s\" must be a whole number "
                   "from %.0f to %.0f", what, key, lo, hi);
        return -1;
    }
    return 0;
}


/* options.chart, when given: one of the kinds web/dashboard.js draws. A
 * value it does not know would be drawn as a line without a word, so the
 * save is refused instead, as for an unknown type. */
static int
check_chart(json_t *w, const char *what, struct fl_err *err)
{
    json_t *c = json_object_get(json_object_get(w, "options"), "chart");
    if (c == NULL)
        return 0;
    if (json_is_string(c) && (strcmp(json_string_value(c), "line") == 0
                              || strcmp(json_string_value(c), "bar") == 0))
        return 0;
    fl_err_set(err, FL_EPARSE, "%s: \"options.chart\" must be \"line\" or "
               "\"bar\"", what);
    return -1;
}


static int
check_widget(json_t *w, size_t i, struct fl_err *err)
{
    char what[48];
    json_t *t = json_object_get(w, "type");
    size_t k;

    snprintf(what, sizeof what, "widget %zu", i);
    if (!json_is_object(w)) {
        fl_err_set(err, FL_EPARSE, "%s is not an object", what);
        return -1;
    }
    if (!json_is_string(t)) {
        fl_err_set(err, FL_EPARSE, "%s: \"type\" must be a string", what);
        return -1;
    }
    for (k = 0; k < sizeof types / sizeof types[0]; k++)
        if (strcmp(json_string_value(t), types[k]) == 0)
            break;
    if (k == sizeof types / sizeof types[0]) {
        /* The type as sent may hold anything: only a short, printable
         * prefix goes into the message. */
        char shown[40];
        size_t n = 0;
        for (const char *p = json_string_value(t); *p && n + 1 < sizeof shown;
             p++)
            shown[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
        shown[n] = '\0';
        fl_err_set(err, FL_EPARSE, "%s: unknown type \"%s\" (metric, "
                   "dimension_lines, actions, top, ingest, alarms or sql)",
                   what, shown);
        return -1;
    }
    if (check_type(w, "id", is_string, "a string", what, err) < 0
        || check_type(w, "title", is_string, "a string", what, err) < 0
        || check_type(w, "metric", is_string, "a string", what, err) < 0
        || check_type(w, "metrics", is_array, "an array", what, err) < 0
        || check_type(w, "sql", is_string, "a string", what, err) < 0
        || check_type(w, "dims", is_object, "an object", what, err) < 0
        || check_type(w, "options", is_object, "an object", what, err) < 0)
        return -1;
    if (check_chart(w, what, err) < 0)
        return -1;
    /* The grid is 12 columns wide; rows are as many as wanted. */
    if (check_cell(w, "w", 1, 12, what, err) < 0
        || check_cell(w, "h", 1, 100, what, err) < 0
        || check_cell(w, "x", 0, 11, what, err) < 0
        || check_cell(w, "y", 0, 10000, what, err) < 0)
        return -1;
    return 0;
}


int
fl_dashboard_validate(const char *body, size_t len, struct fl_err *err)
{
    json_error_t je;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    json_t *widgets;
    int rc = FL_EPARSE;

    if (doc == NULL) {
        fl_err_set(err, FL_EPARSE, "not JSON: %s (line %d, column %d)",
                   je.text, je.line, je.column);
        return FL_EPARSE;
    }
    if (!json_is_object(doc)) {
        fl_err_set(err, FL_EPARSE, "a dashboard is a JSON object");
        goto out;
    }
    if (check_type(doc, "name", is_string, "a string", "the dashboard",
                   err) < 0
        || check_type(doc, "title", is_string, "a string", "the dashboard",
                      err) < 0)
        goto out;
    widgets = json_object_get(doc, "widgets");
    if (!json_is_array(widgets)) {
        fl_err_set(err, FL_EPARSE, "the dashboard needs a \"widgets\" array");
        goto out;
    }
    if (json_array_size(widgets) > FL_DASHBOARD_MAX_WIDGETS) {
        fl_err_set(err, FL_EPARSE, "%zu widgets: at most %d",
                   json_array_size(widgets), FL_DASHBOARD_MAX_WIDGETS);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(widgets); i++)
        if (check_widget(json_array_get(widgets, i), i, err) < 0)
            goto out;
    rc = 0;
out:
    json_decref(doc);
    return rc;
}


/* ---- the folder --------------------------------------------------------- */

/* ui.dashboards_dir, or ARCHIVE/_flowlake/dashboards (fl_free). */
static char *
dash_dir(const struct fl_server *s)
{
    if (s->cfg->ui_dashboards_dir[0] != '\0')
        return fl_strdup(s->cfg->ui_dashboards_dir);
    return fl_fs_join(s->cfg->archive_dir, "_flowlake/dashboards");
}


/* "default" is the default dashboard's other name. */
static const char *
canonical(const char *name)
{
    return strcmp(name, "default") == 0 ? FL_DASHBOARD_DEFAULT : name;
}


/* DIR/NAME.json (fl_free), NULL on ENOMEM. */
static char *
dash_path(const char *dir, const char *name)
{
    size_t n = strlen(name);
    char file[NAME_MAX_LEN + 8];
    if (n > NAME_MAX_LEN)
        return NULL;
    snprintf(file, sizeof file, "%s.json", name);
    return fl_fs_join(dir, file);
}


#define reply_json fl_http_reply_json


/* The title of a dashboard document, or its name when it has none. */
static json_t *
title_of(const char *text, size_t len, const char *name)
{
    json_t *doc = json_loadb(text, len, 0, NULL);
    json_t *t = json_object_get(doc, "title");
    json_t *r = json_string(json_is_string(t) ? json_string_value(t) : name);
    json_decref(doc);
    return r;
}


static int
by_name(const void *a, const void *b)
{
    return strcmp(json_string_value(json_object_get(*(json_t *const *)a,
                                                    "name")),
                  json_string_value(json_object_get(*(json_t *const *)b,
                                                    "name")));
}


/* One entry of the list; NULL on ENOMEM. */
static json_t *
entry(const char *name, json_t *title, int64_t mtime, const char *source)
{
    json_t *o = json_object();
    char iso[32];
    if (o == NULL || title == NULL) {
        json_decref(o);
        json_decref(title);
        return NULL;
    }
    if (mtime >= 0) {
        time_t t = (time_t)mtime;
        struct tm tm;
        if (gmtime_r(&t, &tm) == NULL
            || strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
            mtime = -1;
    }
    if (json_object_set_new(o, "name", json_string(name)) < 0
        || json_object_set_new(o, "title", title) < 0
        || json_object_set_new(o, "modified", mtime >= 0 ? json_string(iso)
                                                         : json_null()) < 0
        || json_object_set_new(o, "source", json_string(source)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}


static enum MHD_Result
list(struct fl_server *s, struct MHD_Connection *c)
{
    const struct fl_ui_asset *def = fl_ui_find(DEFAULT_PATH);
    char *dir = dash_dir(s);
    json_t *arr = json_array(), *items[MAX_LIST + 1];
    size_t n = 0;
    int have_default = 0, bad = 0;
    DIR *d;

    if (dir == NULL || arr == NULL || def == NULL) {
        fl_free(dir);
        json_decref(arr);
        return fl_http_reply_error(c, 503, FL_OOM_TEXT);
    }
    if ((d = opendir(dir)) != NULL) {
        struct dirent *de;
        while (n < MAX_LIST && (de = readdir(d)) != NULL) {
            size_t len = strlen(de->d_name);
            char name[NAME_MAX_LEN + 1], *path, *text = NULL;
            size_t tlen = 0;
            struct stat st;
            if (len <= 5 || len - 5 > NAME_MAX_LEN
                || strcmp(de->d_name + len - 5, ".json") != 0)
                continue;
            memcpy(name, de->d_name, len - 5);
            name[len - 5] = '\0';
            /* Temporary files of a save start with a dot. */
            if (!fl_dashboard_name_ok(name)
                || (path = fl_fs_join(dir, de->d_name)) == NULL)
                continue;
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)
                && fl_fs_read_file(path, FL_DASHBOARD_MAX_BYTES, &text,
                                   &tlen) == FL_OK) {
                items[n] = entry(name, title_of(text, tlen, name),
                                 (int64_t)st.st_mtime, "saved");
                bad |= items[n] == NULL;
                n += items[n] != NULL;
                have_default |= strcmp(name, FL_DASHBOARD_DEFAULT) == 0;
            }
            fl_free(text);
            fl_free(path);
        }
        closedir(d);
    }
    if (!have_default && !bad) {
        items[n] = entry(FL_DASHBOARD_DEFAULT,
                         title_of((const char *)def->plain, def->plain_len,
                                  FL_DASHBOARD_DEFAULT), -1, "default");
        bad |= items[n] == NULL;
        n += items[n] != NULL;
    }
    qsort(items, n, sizeof items[0], by_name);
    for (size_t i = 0; i < n; i++)
        bad |= json_array_append_new(arr, items[i]) < 0;
    fl_free(dir);
    if (bad) {
        json_decref(arr);
        return fl_http_reply_error(c, 503, FL_OOM_TEXT);
    }
    return reply_json(c, arr);
}


static enum MHD_Result
get_one(struct fl_server *s, struct MHD_Connection *c, const char *name)
{
    char *dir = dash_dir(s), *path = dir ? dash_path(dir, name) : NULL;
    char *text = NULL;
    size_t len = 0;
    int rc;
    enum MHD_Result r;

    if (path == NULL) {
        fl_free(dir);
        return fl_http_reply_error(c, 503, FL_OOM_TEXT);
    }
    rc = fl_fs_read_file(path, FL_DASHBOARD_MAX_BYTES, &text, &len);
    fl_free(path);
    fl_free(dir);
    if (rc == FL_OK) {
        r = fl_http_reply(c, 200, "application/json", text, len);
        fl_free(text);
        return r;
    }
    if (rc != -ENOENT) {
        char msg[160];
        snprintf(msg, sizeof msg, "cannot read the saved dashboard: %s",
                 fl_strerror(rc));
        return fl_http_reply_error(c, 500, msg);
    }
    if (strcmp(name, FL_DASHBOARD_DEFAULT) == 0) {
        const struct fl_ui_asset *a = fl_ui_find(DEFAULT_PATH);
        if (a != NULL)
            return fl_http_reply(c, 200, "application/json",
                                 (const char *)a->plain, a->plain_len);
    }
    return fl_http_reply_error(c, 404, "no such dashboard");
}


/* Makes dir (0700) and its parents. */
static int
make_dir(const char *dir)
{
    if (mkdir(dir, 0700) == 0 || errno == EEXIST)
        return FL_OK;
    if (errno != ENOENT)
        return -errno;
    const char *slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        char *parent = fl_strndup(dir, (size_t)(slash - dir));
        int rc;
        if (parent == NULL)
            return FL_ENOMEM;
        rc = fl_fs_mkdirs(parent);
        fl_free(parent);
        if (rc < 0)
            return rc;
    }
    return mkdir(dir, 0700) == 0 || errno == EEXIST ? FL_OK : -errno;
}


/* Writes body to DIR/NAME.json through a temporary file of its own. */
static int
save(const char *dir, const char *name, const char *body, size_t len)
{
    char *path = dash_path(dir, name), *tmp = NULL;
    char base[NAME_MAX_LEN + 24];
    int fd = -1, rc;

    if (path == NULL)
        return FL_ENOMEM;
    snprintf(base, sizeof base, ".%s.json.XXXXXX", name);
    if ((tmp = fl_fs_join(dir, base)) == NULL) {
        rc = FL_ENOMEM;
        goto out;
    }
    /* mkostemp: mode 0600, a name no other save uses, and not inherited
     * by the query workers the server starts meanwhile. */
    if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
        rc = -errno;
        fl_free(tmp);
        tmp = NULL;
        goto out;
    }
    if ((rc = fl_fs_write_all(fd, body, len)) < 0)
        goto out;
    if (fsync(fd) < 0) {
        rc = -errno;
        goto out;
    }
    rc = close(fd) < 0 ? -errno : FL_OK;
    fd = -1;
    if (rc == FL_OK)
        rc = fl_fs_rename_durable(tmp, path);
out:
    if (fd >= 0)
        close(fd);
    if (rc < 0 && tmp != NULL)
        (void)unlink(tmp);
    fl_free(tmp);
    fl_free(path);
    return rc;
}


static enum MHD_Result
put_one(struct fl_server *s, struct MHD_Connection *c, const char *name,
        const char *body, size_t len)
{
    struct fl_err err = FL_ERR_INIT;
    char msg[320];
    char *dir;
    int rc;

    if (len > FL_DASHBOARD_MAX_BYTES) {
        snprintf(msg, sizeof msg, "a dashboard is at most %u bytes",
                 FL_DASHBOARD_MAX_BYTES);
        return fl_http_reply_error(c, 413, msg);
    }
    if (fl_dashboard_validate(body ? body : "", len, &err) < 0)
        return fl_http_reply_error(c, 400, err.msg);
    if ((dir = dash_dir(s)) == NULL)
        return fl_http_reply_error(c, 503, FL_OOM_TEXT);
    if ((rc = make_dir(dir)) == FL_OK)
        rc = save(dir, name, body, len);
    fl_free(dir);
    if (rc < 0) {
        snprintf(msg, sizeof msg, "cannot save the dashboard: %s",
                 fl_strerror(rc));
        fl_log(FL_LOG_WARN, "dashboards", "%s", msg);
        return fl_http_reply_error(c, fl_server_fault_status(rc), msg);
    }
    fl_log(FL_LOG_INFO, "dashboards", "saved dashboard %s (%zu bytes)", name, len);
    return fl_http_reply(c, 200, "application/json", body, len);
}


static enum MHD_Result
delete_one(struct fl_server *s, struct MHD_Connection *c, const char *name)
{
    char *dir = dash_dir(s), *path = dir ? dash_path(dir, name) : NULL;
    int rc = FL_OK;

    if (path == NULL) {
        fl_free(dir);
        return fl_http_reply_error(c, 503, FL_OOM_TEXT);
    }
    if (unlink(path) < 0)
        rc = -errno;
    else
        rc = fl_fs_fsync_path(dir);
    fl_free(path);
    fl_free(dir);
    if (rc == -ENOENT)
        return fl_http_reply_error(c, 404, "no saved dashboard of that name");
    if (rc < 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "cannot delete the dashboard: %s",
                 fl_strerror(rc));
        return fl_http_reply_error(c, 500, msg);
    }
    fl_log(FL_LOG_INFO, "dashboards", "deleted dashboard %s", name);
    return fl_http_reply(c, 200, "application/json", "{\"deleted\":true}\n",
                         17);
}


enum MHD_Result
fl_http_dashboards(struct fl_server *s, struct MHD_Connection *c,
                   const char *method, const char *name, const char *body,
                   size_t len)
{
    if (name == NULL)
        return list(s, c);
    if (!fl_dashboard_name_ok(name))
        return fl_http_reply_error(c, 400, "a dashboard name is 1 to 64 of "
                                   "A-Z a-z 0-9 . _ -, not starting with a "
                                   "dot");
    name = canonical(name);
    if (strcmp(method, "PUT") == 0)
        return put_one(s, c, name, body, len);
    if (strcmp(method, "DELETE") == 0)
        return delete_one(s, c, name);
    return get_one(s, c, name);
}
