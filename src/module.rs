//! Declaring a module: typed parameter statics, the export tables the loader reads, and the
//! dispatchers behind the trampolines that [`crate::module!`] generates.

use std::borrow::Cow;
use std::cell::UnsafeCell;
use std::ffi::{c_char, c_int, c_void, CStr};

use crate::guard::guard;
use crate::msg::SipMsg;
use crate::rpc::Rpc;
use crate::stats::Counter;
use crate::{kstr, sys, Error};

/// Route flags for config functions (core/route.h).
pub mod route {
    pub const REQUEST_ROUTE: u32 = 1;
    pub const FAILURE_ROUTE: u32 = 2;
    pub const ONREPLY_ROUTE: u32 = 4;
    pub const BRANCH_ROUTE: u32 = 8;
    pub const ONSEND_ROUTE: u32 = 16;
    pub const ERROR_ROUTE: u32 = 32;
    pub const LOCAL_ROUTE: u32 = 64;
    pub const EVENT_ROUTE: u32 = REQUEST_ROUTE | 1024;
    pub const ANY_ROUTE: u32 = 0xFFFF_FFFF;
}

/// A C table or struct the loader reads (and may write), kept in writable memory.
#[repr(transparent)]
pub struct Export<T>(UnsafeCell<T>);
// SAFETY: export tables are written only by Kamailio's single-threaded start-up.
unsafe impl<T> Sync for Export<T> {}
impl<T> Export<T> {
    pub const fn new(v: T) -> Self {
        Export(UnsafeCell::new(v))
    }
    pub const fn ptr(&self) -> *mut T {
        self.0.get()
    }
}

/// `module_version` / `module_flags`: a data symbol holding a `char*`.
#[repr(transparent)]
pub struct VersionStr(*const c_char);
// SAFETY: points at an immutable 'static string.
unsafe impl Sync for VersionStr {}
impl VersionStr {
    pub const FULL: VersionStr = VersionStr(sys::version::SER_FULL_VERSION.as_ptr());
    pub const FLAGS: VersionStr = VersionStr(sys::version::SER_COMPILE_FLAGS.as_ptr());
}

/// A NUL-terminated 'static string from a literal; used by the macro.
pub const fn cstr(s: &'static str) -> &'static CStr {
    match CStr::from_bytes_with_nul(s.as_bytes()) {
        Ok(c) => c,
        Err(_) => panic!("export names must be NUL-terminated and contain no NUL"),
    }
}

/// A parameter static Kamailio writes at cfg-parse time (main process, before mod_init).
pub trait ParamKind: Sync {
    /// The `modparam_t` bits.
    const TYPE: u32;
}

/// An INT module parameter.
#[repr(transparent)]
pub struct IntParam(UnsafeCell<c_int>);
// SAFETY: written by the core before mod_init (single-threaded), read-only afterwards.
unsafe impl Sync for IntParam {}
impl ParamKind for IntParam {
    const TYPE: u32 = sys::PARAM_INT;
}
impl IntParam {
    pub const fn new(default: i32) -> Self {
        IntParam(UnsafeCell::new(default))
    }
    pub fn get(&self) -> i32 {
        // SAFETY: see the Sync impl.
        unsafe { *self.0.get() }
    }
    /// Normalises the value; only from mod_init (before workers fork).
    pub fn set(&self, v: i32) {
        // SAFETY: mod_init runs single-threaded in the main process before any fork.
        unsafe { *self.0.get() = v }
    }
}

/// A STR module parameter (the core stores a pkg copy of the configured text).
#[repr(transparent)]
pub struct StrParam(UnsafeCell<sys::str_>);
// SAFETY: as IntParam.
unsafe impl Sync for StrParam {}
impl ParamKind for StrParam {
    const TYPE: u32 = sys::PARAM_STR;
}
impl StrParam {
    pub const fn new(default: &'static str) -> Self {
        StrParam(UnsafeCell::new(sys::str_ { s: default.as_ptr() as *mut c_char, len: default.len() as c_int }))
    }
    pub fn bytes(&self) -> &'static [u8] {
        // SAFETY: the value is a 'static default or a pkg copy that lives as long as the process.
        unsafe { kstr::bytes(&*self.0.get()) }
    }
    pub fn get(&self) -> Cow<'static, str> {
        String::from_utf8_lossy(self.bytes())
    }
}

/// A `param_export_t` for a typed parameter static.
pub const fn param<P: ParamKind>(name: &'static CStr, p: &'static P) -> sys::param_export_t {
    sys::param_export_t {
        name: name.as_ptr() as *mut c_char,
        type_: P::TYPE,
        param_pointer: p as *const P as *mut c_void,
    }
}

/// `PARAM_USE_FUNC` (core/sr_module.h; a cast macro bindgen cannot see).
pub const PARAM_USE_FUNC: u32 = 1 << 31;

/// The C signature of a `PARAM_USE_FUNC` parameter handler.
pub type ParamFn = unsafe extern "C" fn(sys::modparam_t, *mut c_void) -> c_int;

/// What a `PARAM_USE_FUNC` parameter receives.
pub enum ParamKindFn {
    /// STRING|USE_FUNC: the handler gets the text.
    Str,
    /// INT|USE_FUNC: the handler gets the number.
    Int,
}

/// A `param_export_t` whose value is handed to a function each time the parameter is set.
pub const fn func_param(name: &'static CStr, kind: ParamKindFn, f: ParamFn) -> sys::param_export_t {
    let t = match kind {
        ParamKindFn::Str => sys::PARAM_STRING,
        ParamKindFn::Int => sys::PARAM_INT,
    };
    sys::param_export_t { name: name.as_ptr() as *mut c_char, type_: t | PARAM_USE_FUNC, param_pointer: f as *mut c_void }
}

/// A value given to a `PARAM_USE_FUNC` parameter.
pub enum ParamValue<'a> {
    Str(&'a str),
    Int(i32),
}

/// # Safety
/// `val` is what the core passes to a `PARAM_USE_FUNC` handler of type `t`.
#[doc(hidden)]
pub unsafe fn dispatch_param(
    module: &'static CStr,
    name: &str,
    t: sys::modparam_t,
    val: *mut c_void,
    handler: fn(ParamValue) -> Result<(), Error>,
) -> c_int {
    guard(module, name, -1, || {
        let v = if t & sys::PARAM_INT != 0 {
            ParamValue::Int(val as isize as i32)
        } else if val.is_null() {
            ParamValue::Str("")
        } else {
            // SAFETY: the core passes a NUL-terminated pkg string for STRING parameters.
            match unsafe { CStr::from_ptr(val as *const c_char) }.to_str() {
                Ok(s) => ParamValue::Str(s),
                Err(_) => {
                    crate::lm_err!("modparam {name}: the value is not UTF-8");
                    return -1;
                }
            }
        };
        match handler(v) {
            Ok(()) => 0,
            Err(e) => {
                crate::lm_err!("modparam {name}: {e}");
                -1
            }
        }
    })
}

/// How a config function's parameters are prepared at cfg-parse time.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fixup {
    /// Literal strings, as written in the config.
    None,
    /// Strings with pseudo-variables, evaluated per message. A parameter that is exactly one
    /// pseudo-variable (`$rb`) is read directly, whatever its size; anything else is a format
    /// printed through the core's buffer.
    Spve,
    /// Integers or pseudo-variables (`fixup_igp_all`).
    Igp,
}

/// True if `text` is exactly one pseudo-variable (nothing before or after it).
fn is_single_pv(text: &[u8]) -> bool {
    let t = text.trim_ascii();
    if t.first() != Some(&b'$') {
        return false;
    }
    let mut name = kstr::view(t);
    let spec = crate::mem::pkg_malloc(std::mem::size_of::<sys::pv_spec_t>()) as *mut sys::pv_spec_t;
    if spec.is_null() {
        return false;
    }
    // SAFETY: a zeroed pkg spec for the parser; pv_spec_free releases it and what it holds.
    unsafe {
        spec.write(std::mem::zeroed());
        let end = sys::pv_parse_spec2(&mut name, spec, 1);
        let whole = !end.is_null() && end as *const u8 == t.as_ptr().add(t.len());
        sys::pv_spec_free(spec);
        whole
    }
}

/// The fixup behind [`Fixup::Spve`]: a lone pseudo-variable, or a format.
unsafe extern "C" fn fixup_spve_value(param: *mut *mut c_void, _param_no: c_int) -> c_int {
    // SAFETY: the core passes the parameter's NUL-terminated text.
    let Some(text) = (unsafe { param.as_ref() }).filter(|p| !p.is_null()).map(|p| unsafe { CStr::from_ptr(*p as *const c_char) }) else {
        return -1;
    };
    let types = if is_single_pv(text.to_bytes()) { sys::FPARAM_PVS } else { sys::FPARAM_PVE };
    // SAFETY: the core's own conversion into an fparam_t.
    unsafe { sys::fix_param_types(types as c_int, param) }
}

/// The trampoline signature for config functions (up to five parameters, all in registers).
pub type CmdTramp = unsafe extern "C" fn(
    *mut sys::sip_msg,
    *mut c_char,
    *mut c_char,
    *mut c_char,
    *mut c_char,
    *mut c_char,
) -> c_int;

/// A config function's entry in the `cmd_export_t` table.
pub const fn cmd(name: &'static CStr, f: CmdTramp, nparams: i32, fixup: Fixup, flags: u32) -> sys::cmd_export_t {
    assert!(nparams >= 0 && nparams <= 5, "config functions take 0 to 5 parameters");
    let (fix, free): (sys::fixup_function, sys::free_fixup_function) = match (fixup, nparams) {
        (_, 0) | (Fixup::None, _) => (None, None),
        (Fixup::Spve, _) => (Some(fixup_spve_value), Some(sys::fixup_free_fparam_all)),
        (Fixup::Igp, _) => (Some(sys::fixup_igp_all), Some(sys::fixup_free_igp_all)),
    };
    sys::cmd_export_t {
        name: name.as_ptr() as *mut c_char,
        // SAFETY: the core calls a config function with the message and `param_no` pointers;
        // the extra pointer arguments of the trampoline are never read.
        function: unsafe { std::mem::transmute::<CmdTramp, sys::cmd_function>(f) },
        param_no: nparams,
        fixup: fix,
        free_fixup: free,
        flags,
    }
}

/// An inter-module API export (`bind_*`): not callable from the script (flags 0).
pub const fn api_export(name: &'static CStr, f: unsafe extern "C" fn(*mut c_void) -> c_int, nparams: i32) -> sys::cmd_export_t {
    sys::cmd_export_t {
        name: name.as_ptr() as *mut c_char,
        // SAFETY: consumers get this pointer from find_export and call it with one pointer.
        function: unsafe {
            std::mem::transmute::<unsafe extern "C" fn(*mut c_void) -> c_int, sys::cmd_function>(f)
        },
        param_no: nparams,
        fixup: None,
        free_fixup: None,
        flags: 0,
    }
}

/// A config function parameter after its fixup.
pub struct CfgParam {
    raw: *mut c_char,
    fixup: Fixup,
}

impl CfgParam {
    /// The parameter's string value for this message (pseudo-variables evaluated).
    pub fn string(&self, msg: &mut SipMsg) -> Option<String> {
        self.bytes(msg).map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// The parameter's bytes for this message.
    pub fn bytes(&self, msg: &mut SipMsg) -> Option<Vec<u8>> {
        if self.raw.is_null() {
            return None;
        }
        match self.fixup {
            // SAFETY: without fixup the core passes the NUL-terminated literal.
            Fixup::None => Some(unsafe { CStr::from_ptr(self.raw) }.to_bytes().to_vec()),
            Fixup::Spve => {
                let mut out = kstr::empty();
                // SAFETY: fixup_spve_all turned the parameter into an fparam_t.
                let rc = unsafe { sys::get_str_fparam(&mut out, msg.raw(), self.raw as *mut sys::fparam_t) };
                // SAFETY: on success `out` views memory valid until the next PV evaluation.
                (rc == 0).then(|| unsafe { kstr::bytes(&out) }.to_vec())
            }
            Fixup::Igp => self.int(msg).map(|i| i.to_string().into_bytes()),
        }
    }

    /// The parameter's integer value for this message.
    pub fn int(&self, msg: &mut SipMsg) -> Option<i32> {
        if self.raw.is_null() {
            return None;
        }
        match self.fixup {
            Fixup::Igp => {
                let mut v: c_int = 0;
                // SAFETY: fixup_igp_all turned the parameter into an fparam_t.
                let rc = unsafe { sys::get_int_fparam(&mut v, msg.raw(), self.raw as *mut sys::fparam_t) };
                (rc == 0).then_some(v)
            }
            _ => self.string(msg)?.trim().parse().ok(),
        }
    }
}

/// # Safety
/// `msg` and `raw` are what the core passes to a config function with this fixup.
#[doc(hidden)]
pub unsafe fn dispatch_cmd(
    module: &'static CStr,
    name: &str,
    msg: *mut sys::sip_msg,
    raw: [*mut c_char; 5],
    nparams: usize,
    fixup: Fixup,
    handler: fn(&mut SipMsg, &[CfgParam]) -> i32,
) -> c_int {
    guard(module, name, -1, || {
        // SAFETY: the core passes a valid message for the duration of the call.
        let Some(msg) = (unsafe { SipMsg::from_raw(msg) }) else {
            crate::lm_err!("{name}: called without a message");
            return -1;
        };
        let params: Vec<CfgParam> = raw[..nparams.min(5)].iter().map(|&raw| CfgParam { raw, fixup }).collect();
        handler(msg, &params)
    })
}

/// # Safety
/// `api` is NULL or points at a `T` (the consumer's API struct of the documented layout).
#[doc(hidden)]
pub unsafe fn dispatch_api<T>(module: &'static CStr, name: &str, api: *mut c_void, handler: fn(&mut T) -> i32) -> c_int {
    guard(module, name, -1, || {
        // SAFETY: the consumer passes a pointer to its API struct of the documented layout.
        match unsafe { (api as *mut T).as_mut() } {
            Some(api) => handler(api),
            None => {
                crate::lm_err!("{name}: called with a NULL API struct");
                -1
            }
        }
    })
}

/// # Safety
/// `api` and `ctx` are what the core passes to an RPC handler.
#[doc(hidden)]
pub unsafe fn dispatch_rpc(module: &'static CStr, name: &str, api: *mut sys::rpc_t, ctx: *mut c_void, handler: fn(&mut Rpc)) {
    guard(module, name, (), || {
        // SAFETY: the core passes its rpc_t and reply context for this call.
        let mut rpc = unsafe { Rpc::from_raw(api, ctx) };
        handler(&mut rpc);
    });
}

/// Registers the module's statistics (group: the module's name), then runs its `mod_init`.
#[doc(hidden)]
pub fn dispatch_init(module: &'static CStr, counters: &[&'static Counter], f: fn() -> Result<(), Error>) -> c_int {
    guard(module, "mod_init", -1, || {
        let registered = match module.to_str() {
            Ok(group) => crate::stats::register(group, counters),
            Err(_) => Err(Error::from("the module name is not UTF-8")),
        };
        match registered.and_then(|()| f()) {
            Ok(()) => 0,
            Err(e) => {
                crate::lm_err!("mod_init failed: {e}");
                -1
            }
        }
    })
}

#[doc(hidden)]
pub fn dispatch_child_init(module: &'static CStr, rank: c_int, f: fn(Rank) -> Result<(), Error>) -> c_int {
    guard(module, "child_init", -1, || match f(Rank(rank)) {
        Ok(()) => 0,
        Err(e) => {
            crate::lm_err!("child_init({rank}) failed: {e}");
            -1
        }
    })
}

#[doc(hidden)]
pub fn dispatch_destroy(module: &'static CStr, f: fn()) {
    guard(module, "destroy", (), f)
}

/// The trampoline signature for KEMI functions (up to three string parameters).
pub type KemiTramp = unsafe extern "C" fn(*mut sys::sip_msg, *mut sys::str_, *mut sys::str_, *mut sys::str_) -> c_int;

/// The KEMI table terminator.
pub const KEMI_END: sys::sr_kemi_t = sys::sr_kemi_t {
    mname: kstr::empty(),
    fname: kstr::empty(),
    rtype: 0,
    func: std::ptr::null_mut(),
    ptypes: [0; 6],
};

/// A KEMI export `module.fname(str, ...)` returning an int; names end with NUL.
pub const fn kemi_export(module_nul: &'static str, fname_nul: &'static str, f: KemiTramp, nparams: usize) -> sys::sr_kemi_t {
    assert!(nparams <= 3, "KEMI functions take 0 to 3 string parameters");
    let mut ptypes = [sys::SR_KEMIP_NONE as c_int; 6];
    let mut i = 0;
    while i < nparams {
        ptypes[i] = sys::SR_KEMIP_STR as c_int;
        i += 1;
    }
    sys::sr_kemi_t {
        mname: sys::str_ { s: module_nul.as_ptr() as *mut c_char, len: module_nul.len() as c_int - 1 },
        fname: sys::str_ { s: fname_nul.as_ptr() as *mut c_char, len: fname_nul.len() as c_int - 1 },
        rtype: sys::SR_KEMIP_INT as c_int,
        func: f as *mut c_void,
        ptypes,
    }
}

#[doc(hidden)]
pub fn register_kemi<const N: usize>(module: &'static CStr, table: &'static Export<[sys::sr_kemi_t; N]>) -> c_int {
    guard(module, "mod_register", -1, || {
        // SAFETY: a static table ending with KEMI_END, alive as long as the module.
        if unsafe { sys::sr_kemi_modules_add(table.ptr() as *mut sys::sr_kemi_t) } < 0 {
            crate::lm_err!("cannot register the KEMI exports");
            return -1;
        }
        0
    })
}

/// # Safety
/// `msg` and the first `nparams` of `raw` are what a KEMI engine passes for this export.
#[doc(hidden)]
pub unsafe fn dispatch_kemi(
    module: &'static CStr,
    name: &str,
    msg: *mut sys::sip_msg,
    raw: [*mut sys::str_; 3],
    nparams: usize,
    handler: fn(&mut SipMsg, &[String]) -> i32,
) -> c_int {
    guard(module, name, -1, || {
        // SAFETY: as documented for this function.
        let Some(msg) = (unsafe { SipMsg::from_raw(msg) }) else { return -1 };
        let params: Vec<String> = raw[..nparams.min(3)]
            .iter()
            // SAFETY: the engine passes valid str pointers for the declared parameters.
            .map(|&p| unsafe { kstr::opt_bytes(p) }.map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default())
            .collect();
        handler(msg, &params)
    })
}

/// The rank `child_init` is called with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rank(pub i32);

impl Rank {
    pub const INIT: Rank = Rank(-127);
    pub const MAIN: Rank = Rank(0);
    pub const TIMER: Rank = Rank(-1);
    pub const RPC: Rank = Rank(-2);
    pub const TCP_MAIN: Rank = Rank(-4);

    /// True for every process that serves requests, timers or RPC after the fork: the ones
    /// that open their own database connections.
    pub fn is_serving(self) -> bool {
        self != Rank::INIT && self != Rank::MAIN && self != Rank::TCP_MAIN
    }
}

/// Declares a Kamailio module: emits `exports`, `module_version` and `module_flags` (plus
/// `mod_register` when there are KEMI exports, to register them) and no other symbol, with
/// every entry point guarded against panics. Sections are optional but keep this order.
/// `counters` are registered in Kamailio's statistics under the module's name just before
/// `mod_init` runs (so they need an `init`).
///
/// ```ignore
/// kamailio::module! {
///     name: "example",
///     params: { "limit" => LIMIT, "db_url" => DB_URL },            // IntParam / StrParam statics
///     param_fns: { "server" => Str add_server },                  // PARAM_USE_FUNC: Str or Int
///     functions: { "ex_do" => ex_do [2, Spve, REQUEST_ROUTE] },   // [params, fixup, route flags]
///     apis: { "bind_example" => bind [1, sys::example_api_t] },   // filled by consumers' find_export
///     rpc: { "example.show" => rpc_show, "Show the state" },
///     pvs: { "ex" => pv_get; "exw" => pv_get, pv_set },            // `;` between PVs
///     kemi: { "ex_do" => kemi_do [2] },                            // int f(str, str)
///     counters: &[&EX_DONE, &EX_SIZE],                             // stats::Counter statics
///     init: mod_init,
///     child_init: child_init,
///     destroy: destroy,
/// }
/// ```
#[macro_export]
macro_rules! module {
    (
        name: $name:literal,
        $(params: { $($pname:literal => $pstatic:path),* $(,)? },)?
        $(param_fns: { $($fname:literal => $fkind:ident $fhandler:path),* $(,)? },)?
        $(functions: { $($cname:literal => $chandler:path [$cn:literal, $cfix:ident, $cflags:expr]),* $(,)? },)?
        $(apis: { $($aname:literal => $ahandler:path [$an:literal, $aty:ty]),* $(,)? },)?
        $(rpc: { $($rname:literal => $rhandler:path, $rdoc:literal),* $(,)? },)?
        $(pvs: { $($vname:literal => $vhandler:path $(, $vsetter:path)?);* $(;)? },)?
        $(kemi: { $($kname:literal => $khandler:path [$kn:literal]),* $(,)? },)?
        $(counters: $counters:expr,)?
        $(init: $init:path,)?
        $(child_init: $child:path,)?
        $(destroy: $destroy:path,)?
    ) => {
        #[allow(non_upper_case_globals, dead_code)]
        const __KSR_NAME: &::core::ffi::CStr = $crate::module::cstr(concat!($name, "\0"));

        #[allow(non_upper_case_globals)]
        #[no_mangle]
        pub static module_version: $crate::module::VersionStr = $crate::module::VersionStr::FULL;

        #[allow(non_upper_case_globals)]
        #[no_mangle]
        pub static module_flags: $crate::module::VersionStr = $crate::module::VersionStr::FLAGS;

        static __KSR_PARAMS: $crate::module::Export<[$crate::sys::param_export_t; 1 $($( + { let _ = $pname; 1 })*)? $($( + { let _ = $fname; 1 })*)?]> =
            $crate::module::Export::new([
                $($($crate::module::param($crate::module::cstr(concat!($pname, "\0")), &$pstatic),)*)?
                $($($crate::module::func_param(
                    $crate::module::cstr(concat!($fname, "\0")),
                    $crate::module::ParamKindFn::$fkind,
                    {
                        unsafe extern "C" fn __t(t: $crate::sys::modparam_t, v: *mut ::core::ffi::c_void) -> ::core::ffi::c_int {
                            unsafe { $crate::module::dispatch_param(__KSR_NAME, $fname, t, v, $fhandler) }
                        }
                        __t
                    },
                ),)*)?
                $crate::sys::param_export_t { name: ::core::ptr::null_mut(), type_: 0, param_pointer: ::core::ptr::null_mut() },
            ]);

        static __KSR_CMDS: $crate::module::Export<[$crate::sys::cmd_export_t; 1 $($( + { let _ = $cname; 1 })*)? $($( + { let _ = $aname; 1 })*)?]> =
            $crate::module::Export::new([
                $($({
                    #[allow(unused_imports)]
                    use $crate::module::route::*;
                    unsafe extern "C" fn __t(
                        msg: *mut $crate::sys::sip_msg,
                        p1: *mut ::core::ffi::c_char, p2: *mut ::core::ffi::c_char,
                        p3: *mut ::core::ffi::c_char, p4: *mut ::core::ffi::c_char,
                        p5: *mut ::core::ffi::c_char,
                    ) -> ::core::ffi::c_int {
                        unsafe {
                            $crate::module::dispatch_cmd(__KSR_NAME, $cname, msg, [p1, p2, p3, p4, p5], $cn,
                                $crate::module::Fixup::$cfix, $chandler)
                        }
                    }
                    $crate::module::cmd($crate::module::cstr(concat!($cname, "\0")), __t, $cn,
                        $crate::module::Fixup::$cfix, $cflags)
                },)*)?
                $($({
                    unsafe extern "C" fn __t(api: *mut ::core::ffi::c_void) -> ::core::ffi::c_int {
                        unsafe { $crate::module::dispatch_api::<$aty>(__KSR_NAME, $aname, api, $ahandler) }
                    }
                    $crate::module::api_export($crate::module::cstr(concat!($aname, "\0")), __t, $an)
                },)*)?
                $crate::sys::cmd_export_t { name: ::core::ptr::null_mut(), function: None, param_no: 0, fixup: None, free_fixup: None, flags: 0 },
            ]);

        static __KSR_RPC: $crate::module::Export<[$crate::sys::rpc_export_t; 1 $($( + { let _ = $rname; 1 })*)?]> =
            $crate::module::Export::new([
                $($({
                    static __DOC: $crate::module::Export<[*const ::core::ffi::c_char; 2]> =
                        $crate::module::Export::new([concat!($rdoc, "\0").as_ptr() as *const ::core::ffi::c_char, ::core::ptr::null()]);
                    unsafe extern "C" fn __t(rpc: *mut $crate::sys::rpc_t, ctx: *mut ::core::ffi::c_void) {
                        unsafe { $crate::module::dispatch_rpc(__KSR_NAME, $rname, rpc, ctx, $rhandler) }
                    }
                    $crate::sys::rpc_export_t {
                        name: concat!($rname, "\0").as_ptr() as *const ::core::ffi::c_char,
                        function: Some(__t),
                        doc_str: __DOC.ptr() as *mut *const ::core::ffi::c_char,
                        flags: 0,
                    }
                },)*)?
                $crate::sys::rpc_export_t { name: ::core::ptr::null(), function: None, doc_str: ::core::ptr::null_mut(), flags: 0 },
            ]);

        static __KSR_PVS: $crate::module::Export<[$crate::sys::pv_export_t; 1 $($( + { let _ = $vname; 1 })*)?]> =
            $crate::module::Export::new([
                $($({
                    unsafe extern "C" fn __t(
                        msg: *mut $crate::sys::sip_msg,
                        param: *mut $crate::sys::pv_param_t,
                        res: *mut $crate::sys::pv_value_t,
                    ) -> ::core::ffi::c_int {
                        unsafe { $crate::pv::dispatch_get(__KSR_NAME, $vname, msg, param, res, $vhandler) }
                    }
                    #[allow(unused_mut)]
                    let mut setter: Option<$crate::pv::SetFn> = None;
                    $(
                        unsafe extern "C" fn __s(
                            msg: *mut $crate::sys::sip_msg,
                            param: *mut $crate::sys::pv_param_t,
                            _op: ::core::ffi::c_int,
                            val: *mut $crate::sys::pv_value_t,
                        ) -> ::core::ffi::c_int {
                            unsafe { $crate::pv::dispatch_set(__KSR_NAME, $vname, msg, param, val, $vsetter) }
                        }
                        setter = Some(__s);
                    )?
                    $crate::pv::export(concat!($vname, "\0"), __t, setter)
                },)*)?
                $crate::pv::END,
            ]);

        $(
            static __KSR_KEMI: $crate::module::Export<[$crate::sys::sr_kemi_t; 1 $( + { let _ = $kname; 1 })*]> =
                $crate::module::Export::new([
                    $({
                        unsafe extern "C" fn __t(
                            msg: *mut $crate::sys::sip_msg,
                            p1: *mut $crate::sys::str_, p2: *mut $crate::sys::str_, p3: *mut $crate::sys::str_,
                        ) -> ::core::ffi::c_int {
                            unsafe { $crate::module::dispatch_kemi(__KSR_NAME, $kname, msg, [p1, p2, p3], $kn, $khandler) }
                        }
                        $crate::module::kemi_export(concat!($name, "\0"), concat!($kname, "\0"), __t, $kn)
                    },)*
                    $crate::module::KEMI_END,
                ]);

            /// Registers the KEMI exports before the script engines start.
            #[no_mangle]
            pub extern "C" fn mod_register(
                _path: *mut ::core::ffi::c_char,
                _dlflags: *mut ::core::ffi::c_int,
                _p1: *mut ::core::ffi::c_void,
                _p2: *mut ::core::ffi::c_void,
            ) -> ::core::ffi::c_int {
                $crate::module::register_kemi(__KSR_NAME, &__KSR_KEMI)
            }
        )?

        #[allow(dead_code)]
        static __KSR_COUNTERS: &[&$crate::stats::Counter] = {
            #[allow(unused_mut, unused_assignments)]
            let mut c: &[&$crate::stats::Counter] = &[];
            $(c = $counters;)?
            c
        };

        #[allow(non_upper_case_globals)]
        #[no_mangle]
        pub static exports: $crate::module::Export<$crate::sys::module_exports> =
            $crate::module::Export::new($crate::sys::module_exports {
                name: __KSR_NAME.as_ptr() as *mut ::core::ffi::c_char,
                dlflags: 0,
                cmds: __KSR_CMDS.ptr() as *mut $crate::sys::cmd_export_t,
                params: __KSR_PARAMS.ptr() as *mut $crate::sys::param_export_t,
                rpc_methods: __KSR_RPC.ptr() as *mut $crate::sys::rpc_export_t,
                pv_items: __KSR_PVS.ptr() as *mut $crate::sys::pv_export_t,
                response_f: None,
                init_mod_f: {
                    #[allow(unused_mut)]
                    let mut f: $crate::sys::init_function = None;
                    $(
                        unsafe extern "C" fn __t() -> ::core::ffi::c_int {
                            $crate::module::dispatch_init(__KSR_NAME, __KSR_COUNTERS, $init)
                        }
                        f = Some(__t);
                    )?
                    f
                },
                init_child_f: {
                    #[allow(unused_mut)]
                    let mut f: $crate::sys::child_init_function = None;
                    $(
                        unsafe extern "C" fn __t(rank: ::core::ffi::c_int) -> ::core::ffi::c_int {
                            $crate::module::dispatch_child_init(__KSR_NAME, rank, $child)
                        }
                        f = Some(__t);
                    )?
                    f
                },
                destroy_mod_f: {
                    #[allow(unused_mut)]
                    let mut f: $crate::sys::destroy_function = None;
                    $(
                        unsafe extern "C" fn __t() {
                            $crate::module::dispatch_destroy(__KSR_NAME, $destroy)
                        }
                        f = Some(__t);
                    )?
                    f
                },
            });
    };
}
