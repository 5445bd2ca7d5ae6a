// File: core/util/crc32c.h
// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected), the checksum of the
// model artifact format. Abseil gains absl/crc only in 20230125.
// Thread-safe: pure functions.
#ifndef MODELSERVER_CORE_UTIL_CRC32C_H_
#define MODELSERVER_CORE_UTIL_CRC32C_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace modelserver {

// Extends `crc` (the CRC-32C of some prefix, 0 for none) with `data`.
// Crc32c("123456789") == 0xE3069283.
uint32_t Crc32cExtend(uint32_t crc, absl::string_view data);
inline uint32_t Crc32c(absl::string_view data) { return Crc32cExtend(0, data); }

namespace crc32c_internal {
// The portable table-driven computation (slicing by 8). Crc32cExtend uses the
// CPU's CRC32 instruction instead when built for SSE4.2; tests compare both.
uint32_t ExtendWithTables(uint32_t crc, absl::string_view data);
}  // namespace crc32c_internal

}  // namespace modelserver

#endif  // MODELSERVER_CORE_UTIL_CRC32C_H_
