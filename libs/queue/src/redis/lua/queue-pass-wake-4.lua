-- Hands a wake token on after a claimer that took it went away without claiming: pushes one if ids wait in the
-- channel and none is there. KEYS: lane 0, lane 1, lane 2, wake (of the channel).
-- @include prelude.lua
ensure_wake(KEYS[1], KEYS[2], KEYS[3], KEYS[4])
return 1
