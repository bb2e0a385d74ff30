// GNU readline and history, for the REPL (apt-get install libreadline-dev).
#include <stdio.h>
#include <readline/readline.h>
#include <readline/history.h>
