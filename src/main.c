/*
 * Entry point: load and validate the configuration, set up logging, run
 * the server. Exit status: 0 after a clean stop, 1 when the server could
 * not start or failed, 2 for an invalid configuration.
 */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "server.h"

int main(int argc, char **argv)
{
    struct config *config = NULL;
    bool check_only = false;
    char err[512];

    switch (config_load(argc, argv, &config, &check_only, err, sizeof(err))) {
    case CONFIG_EXIT_SUCCESS:
        return 0;
    case CONFIG_INVALID:
        /* Under systemd the "<3>" prefix files the line as an error in
         * the journal, so `journalctl -p err` shows why the start failed. */
        fprintf(stderr, "%ssignal-server: %s\n",
                getenv("JOURNAL_STREAM") != NULL ? "<3>" : "", err);
        return 2;
    case CONFIG_OK:
        break;
    }
    if (check_only) {
        printf("signal-server: configuration is valid\n");
        config_unref(config);
        return 0;
    }

    log_set_level(config->log_level);
    log_set_format(config->log_format);
    /* Under systemd, stderr goes to journald, which reads "<N>" prefixes
     * as the line's priority. */
    log_set_journal_prefix(getenv("JOURNAL_STREAM") != NULL &&
                           config->log_format == LOG_FORMAT_TEXT);

    int status = server_run(config, argc, argv);
    config_unref(config);
    return status;
}
