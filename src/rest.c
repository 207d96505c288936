/* Placeholder until the module lands. */
typedef int signal_placeholder_rest;
