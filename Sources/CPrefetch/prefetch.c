// CPrefetch is header-only (CPrefetch.h); SwiftPM wants one source file per C target.
#include "CPrefetch.h"
