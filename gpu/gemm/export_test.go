package gemm

// MulMod exposes the field multiplication to the tests.
var MulMod = mulmod
