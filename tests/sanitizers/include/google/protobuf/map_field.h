// ThreadSanitizer builds only (MODELSERVER_SANITIZE=thread; this directory is
// put before the system include path by the top CMakeLists.txt).
//
// Debian's protobuf 3.21 map_field.h gives MapFieldBase two extra members
// (seq1_, seq2_) when __SANITIZE_THREAD__ is defined, which GCC defines under
// -fsanitize=thread. Debian's libprotobuf.so is built without TSan, so TSan-
// compiled code and the library would disagree on the class's layout (every
// generated message with a map field, e.g. inference.ModelInferRequest's
// parameters, has the wrong field offsets: a SEGV in the library's arena
// clean-up, seen in server_test). This wrapper includes the real header with
// the macro hidden, so that our code sees the library's layout; nothing else
// in protobuf's headers tests the macro (port_def.inc only sets PROTOBUF_TSAN,
// which no 3.21 header uses).
#pragma push_macro("__SANITIZE_THREAD__")
#undef __SANITIZE_THREAD__
#include_next <google/protobuf/map_field.h>
#pragma pop_macro("__SANITIZE_THREAD__")
