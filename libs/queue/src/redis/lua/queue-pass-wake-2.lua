-- Hands a wake token on after a claimer that took it went away without claiming: pushes one if jobs wait and none
-- is there. KEYS: pending, wake.
-- @include prelude.lua
ensure_wake(KEYS[1], KEYS[2])
return 1
