// SDL2 for the Display module (Debian: libsdl2-dev; flags from pkg-config sdl2).
#define SDL_MAIN_HANDLED 1
#include <SDL2/SDL.h>
