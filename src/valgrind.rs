//! Client requests to valgrind's memcheck, for shared memory that one process writes and
//! another reads. Memcheck runs inside each process and tracks which bytes that process has
//! initialised; it never sees what another process writes into shm. A process that once
//! left uninitialised bytes in a block of shm (a C struct copied with its padding, say) keeps
//! them marked uninitialised after the block was freed and reused by another process that
//! filled it, so reading what the other process wrote there shows up as use of uninitialised
//! memory. Where a process takes over a block another one filled, marking it defined says
//! what is true.
//!
//! A client request is a fixed sequence of instructions that does nothing on the CPU (it
//! leaves every register as it found it) and that valgrind's translator recognises; outside
//! valgrind it costs a handful of cycles. On targets without a known sequence the requests
//! do nothing.

/// Memcheck's request base: the tool letters 'M', 'C' in the top two bytes.
const MEMCHECK_BASE: usize = (b'M' as usize) << 24 | (b'C' as usize) << 16;
/// Marks a range defined (the third request of memcheck's list).
const MAKE_MEM_DEFINED: usize = MEMCHECK_BASE + 2;
/// A core request: nonzero when running under valgrind.
const RUNNING_ON_VALGRIND: usize = 0x1001;

/// Runs client request `args[0]` with arguments `args[1..]`; `default` outside valgrind.
fn client_request(default: usize, args: [usize; 6]) -> usize {
    #[allow(unused_mut)]
    let mut result = default;
    // SAFETY (both): the four rotations of one register add up to 128 bits (it is declared
    // clobbered anyway) and the last instruction moves a register onto itself: on the CPU
    // nothing changes. Under valgrind the sequence makes it read the six words at the pointer
    // register (valid for the call) and answer in the result register.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::asm!(
            "rol rdi, 3", "rol rdi, 13", "rol rdi, 61", "rol rdi, 51", "xchg rbx, rbx",
            inout("rdx") result, in("rax") args.as_ptr(), inout("rdi") 0usize => _,
            options(nostack, preserves_flags),
        );
    }
    #[cfg(target_arch = "aarch64")]
    unsafe {
        std::arch::asm!(
            "ror x12, x12, #3", "ror x12, x12, #13", "ror x12, x12, #51", "ror x12, x12, #61", "orr x10, x10, x10",
            inout("x3") result, in("x4") args.as_ptr(), inout("x12") 0usize => _,
            options(nostack, preserves_flags),
        );
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = args;
    result
}

/// Tells memcheck (when the process runs under it) that `bytes` are initialised: for shm that
/// another process filled. Changes nothing in memory.
pub fn mark_defined(bytes: &[u8]) {
    if !bytes.is_empty() {
        client_request(0, [MAKE_MEM_DEFINED, bytes.as_ptr() as usize, bytes.len(), 0, 0, 0]);
    }
}

/// True when the process runs under valgrind.
pub fn running_on_valgrind() -> bool {
    client_request(0, [RUNNING_ON_VALGRIND, 0, 0, 0, 0, 0]) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_valgrind_a_request_answers_its_default_and_changes_nothing() {
        assert!(!running_on_valgrind());
        assert_eq!(client_request(42, [RUNNING_ON_VALGRIND, 0, 0, 0, 0, 0]), 42);
        let bytes = vec![7u8; 64];
        mark_defined(&bytes);
        mark_defined(&[]);
        assert_eq!(bytes, vec![7u8; 64]);
    }

    #[test]
    fn the_request_numbers_are_memchecks() {
        assert_eq!(MAKE_MEM_DEFINED, 0x4d43_0002);
    }
}
