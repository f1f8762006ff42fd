//! The tables `module!` emits, read back the way Kamailio's loader reads them.

use std::ffi::CStr;

use kamailio::{module, sys, CfgParam, Error, IntParam, ParamValue, PvValue, Rpc, SipMsg, StrParam};

// Stand-ins for the core's symbols that the generated tables and dispatchers reference. This
// executable is not loaded into Kamailio, and nothing here calls them.
mod host {
    use std::ffi::{c_char, c_int, c_void};

    macro_rules! inert_fns {
        ($($name:ident),* $(,)?) => {$(
            #[no_mangle]
            extern "C" fn $name() -> c_int {
                unreachable!(concat!(stringify!($name), " is a stand-in"))
            }
        )*};
    }
    inert_fns!(sr_kemi_modules_add, fix_param_types, pv_parse_spec2, pv_spec_free, get_debug_level, get_debug_facility, dprint_color, dprint_color_reset, my_pid, pv_get_null, pv_get_sintval, pv_get_strval, counter_register, counter_get_val);

    #[no_mangle]
    pub extern "C" fn fixup_free_fparam_all(_p: *mut *mut c_void, _n: c_int) -> c_int {
        0
    }
    #[no_mangle]
    pub extern "C" fn fixup_igp_all(_p: *mut *mut c_void, _n: c_int) -> c_int {
        0
    }
    #[no_mangle]
    pub extern "C" fn fixup_free_igp_all(_p: *mut *mut c_void, _n: c_int) -> c_int {
        0
    }

    #[no_mangle]
    static mut dprint_crit: c_int = 0;
    #[no_mangle]
    static mut log_stderr: c_int = 0;
    #[no_mangle]
    static mut log_color: c_int = 0;
    #[no_mangle]
    static mut process_no: c_int = 0;
    #[no_mangle]
    static mut log_prefix_val: *mut c_void = std::ptr::null_mut();
    #[no_mangle]
    static mut log_level_info: [*const c_char; 32] = [std::ptr::null(); 32];
    #[no_mangle]
    static mut _km_log_func: *mut c_void = std::ptr::null_mut();
    #[no_mangle]
    static mut _ksr_slog_func: *mut c_void = std::ptr::null_mut();
    #[no_mangle]
    static mut _pkg_root: [u8; 128] = [0; 128];
    #[no_mangle]
    static mut _cnts_vals: *mut c_void = std::ptr::null_mut();
    #[no_mangle]
    static mut _cnts_row_len: c_int = 0;
}
use host::{fixup_free_fparam_all, fixup_free_igp_all, fixup_igp_all};

static LIMIT: IntParam = IntParam::new(7);
static URL: StrParam = StrParam::new("sqlite:///x.db");

fn handler(_msg: &mut SipMsg, _p: &[CfgParam]) -> i32 {
    1
}
fn bind(_api: &mut [u64; 2]) -> i32 {
    0
}
fn show(_rpc: &mut Rpc) {}
fn getter(_msg: &mut SipMsg, _name: &str) -> PvValue {
    PvValue::Null
}
fn kemi(_msg: &mut SipMsg, _p: &[String]) -> i32 {
    1
}
fn init() -> Result<(), Error> {
    Ok(())
}
fn on_server(_v: ParamValue) -> Result<(), Error> {
    Ok(())
}

module! {
    name: "tables",
    params: { "limit" => LIMIT, "db_url" => URL },
    param_fns: { "server" => Str on_server },
    functions: {
        "t_none" => handler [0, None, REQUEST_ROUTE],
        "t_two" => handler [2, Spve, ANY_ROUTE],
        "t_int" => handler [1, Igp, REQUEST_ROUTE | FAILURE_ROUTE],
    },
    apis: { "bind_tables" => bind [1, [u64; 2]] },
    rpc: { "tables.show" => show, "Show the tables" },
    pvs: { "tbl" => getter },
    kemi: { "k_two" => kemi [2], "k_none" => kemi [0] },
    init: init,
}

fn name(p: *const std::ffi::c_char) -> &'static str {
    // SAFETY: the tables hold 'static NUL-terminated names.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap()
}

#[test]
fn version_strings_are_the_installed_kamailios() {
    // SAFETY: the statics point at 'static strings.
    let v = unsafe { CStr::from_ptr(*(&module_version as *const _ as *const *const std::ffi::c_char)) };
    let f = unsafe { CStr::from_ptr(*(&module_flags as *const _ as *const *const std::ffi::c_char)) };
    // The target's binary states the strings its loader compares byte for byte.
    let bin = env!("KAMAILIO_BIN");
    let out = std::process::Command::new(bin).arg("-V").output().expect("run kamailio -V");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |name: &str| text.lines().find_map(|l| l.strip_prefix(name)).map(|x| x.trim().to_string()).unwrap();
    assert_eq!(v.to_str().unwrap(), field("version:"), "{bin}");
    assert_eq!(f.to_str().unwrap(), field("flags:"), "{bin}");
    let expected = match env!("KAMAILIO_TARGET") {
        "6.0" => "kamailio 6.0.1 (x86_64/linux)",
        _ => "kamailio 5.6.3 (x86_64/linux)",
    };
    assert_eq!(v.to_str().unwrap(), expected);
    // 6.0's flags string gains MEM_JOIN_FREE after PKG_MALLOC.
    assert_eq!(f.to_str().unwrap().contains("PKG_MALLOC, MEM_JOIN_FREE,"), env!("KAMAILIO_TARGET") == "6.0");
    assert_eq!(std::mem::size_of_val(&exports), 80);
}

#[test]
fn exports_describe_the_module() {
    // SAFETY: reading the static tables the macro built.
    let e = unsafe { &*exports.ptr() };
    assert_eq!(name(e.name), "tables");
    assert_eq!(e.dlflags, 0);
    assert!(e.init_mod_f.is_some() && e.init_child_f.is_none() && e.destroy_mod_f.is_none());
    assert!(e.response_f.is_none());

    let params = unsafe { std::slice::from_raw_parts(e.params, 4) };
    assert_eq!(name(params[0].name), "limit");
    assert_eq!(params[0].type_, sys::PARAM_INT);
    assert_eq!(params[0].param_pointer as *const IntParam, &LIMIT as *const IntParam);
    assert_eq!((name(params[1].name), params[1].type_), ("db_url", sys::PARAM_STR));
    assert_eq!(name(params[2].name), "server");
    assert_eq!(params[2].type_, sys::PARAM_STRING | kamailio::module::PARAM_USE_FUNC);
    assert!(params[3].name.is_null());

    let cmds = unsafe { std::slice::from_raw_parts(e.cmds, 5) };
    let summary: Vec<(&str, i32, bool, u32)> =
        cmds[..4].iter().map(|c| (name(c.name), c.param_no, c.fixup.is_some(), c.flags)).collect();
    assert_eq!(
        summary,
        [("t_none", 0, false, 1), ("t_two", 2, true, 0xFFFF_FFFF), ("t_int", 1, true, 3), ("bind_tables", 1, false, 0)]
    );
    assert!(cmds.iter().take(4).all(|c| c.function.is_some()));
    // Strings with pseudo-variables: the foundation's own fixup, freed by the core's.
    assert!(cmds[1].fixup.is_some());
    assert_eq!(cmds[1].free_fixup.map(|f| f as usize), Some(fixup_free_fparam_all as *const () as usize));
    assert_eq!(cmds[2].fixup.map(|f| f as usize), Some(fixup_igp_all as *const () as usize));
    assert_eq!(cmds[2].free_fixup.map(|f| f as usize), Some(fixup_free_igp_all as *const () as usize));
    assert!(cmds[4].name.is_null());

    let rpc = unsafe { std::slice::from_raw_parts(e.rpc_methods, 2) };
    assert_eq!(name(rpc[0].name), "tables.show");
    assert_eq!(name(unsafe { *rpc[0].doc_str }), "Show the tables");
    assert!(rpc[1].name.is_null());

    let pvs = unsafe { std::slice::from_raw_parts(e.pv_items, 2) };
    assert_eq!(unsafe { kamailio::kstr::bytes(&pvs[0].name) }, b"tbl");
    assert_eq!(pvs[0].type_, sys::PVT_OTHER);
    assert!(pvs[0].getf.is_some() && pvs[0].parse_name.is_some() && pvs[0].setf.is_none());
    assert!(pvs[1].getf.is_none());
}

#[test]
fn kemi_exports_are_int_functions_of_strings() {
    // SAFETY: reading the static table the macro built.
    let k = unsafe { std::slice::from_raw_parts(__KSR_KEMI.ptr() as *const sys::sr_kemi_t, 3) };
    let s = |x: &sys::str_| String::from_utf8_lossy(unsafe { kamailio::kstr::bytes(x) }).into_owned();
    assert_eq!((s(&k[0].mname), s(&k[0].fname)), ("tables".into(), "k_two".into()));
    assert_eq!(k[0].rtype, sys::SR_KEMIP_INT as i32);
    assert_eq!(k[0].ptypes, [2, 2, 0, 0, 0, 0]);
    assert_eq!((s(&k[1].fname), k[1].ptypes), ("k_none".into(), [0; 6]));
    assert!(!k[0].func.is_null() && k[2].func.is_null() && k[2].fname.s.is_null());
    let _ = mod_register;
}

#[test]
fn parameter_statics_read_their_defaults() {
    assert_eq!(LIMIT.get(), 7);
    assert_eq!(URL.get(), "sqlite:///x.db");
}
