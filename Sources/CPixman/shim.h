// pixman for scaling the guest screen (Debian: libpixman-1-dev; flags from pkg-config pixman-1).
#include <pixman.h>
