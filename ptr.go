package qoder

// Ptr returns a pointer to v. Use it to set optional fields whose zero
// value is meaningful, such as qoder.Ptr(0) or qoder.Ptr("").
func Ptr[T any](v T) *T { return &v }
