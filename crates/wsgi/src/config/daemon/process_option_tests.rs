//! The options that shape a daemon process itself (stack-size,
//! cpu-priority, virtual-memory-limit, chroot, script-user, script-group,
//! eviction-timeout): values and refusals as mod_wsgi's parser.

use super::*;

#[test]
fn process_options_as_mod_wsgi() {
    let g = parse_daemon_process(
        "s stack-size=524288 cpu-priority=-5 virtual-memory-limit=1073741824 chroot=/srv/jail script-user=#33 eviction-timeout=20",
    )
    .unwrap();
    assert_eq!(g.stack_size, Some(524_288));
    assert_eq!(g.cpu_priority, -5);
    assert_eq!(g.virtual_memory_limit, 1 << 30);
    assert_eq!(g.chroot.as_deref(), Some("/srv/jail"));
    assert_eq!(g.script_user.as_deref(), Some("#33"));
    assert_eq!(g.eviction_timeout, 20);
    let g = parse_daemon_process("s script-group=www-data").unwrap();
    assert_eq!(g.script_group.as_deref(), Some("www-data"));
    let d = parse_daemon_process("s").unwrap();
    assert_eq!(
        (d.stack_size, d.cpu_priority, d.virtual_memory_limit),
        (None, 0, 0)
    );
    assert_eq!(
        (d.chroot, d.script_user, d.script_group),
        (None, None, None)
    );
    assert_eq!(d.eviction_timeout, 0);
}

#[test]
fn python_home_is_looked_for_inside_the_chroot() {
    // In either order of the two options.
    for raw in [
        "s chroot=/usr python-home=/lib",
        "s python-home=/lib chroot=/usr/",
    ] {
        let g = parse_daemon_process(raw).unwrap();
        assert_eq!(g.python_home.as_deref(), Some("/lib"), "{raw}");
    }
    let err = parse_daemon_process("s chroot=/usr python-home=/usr").unwrap_err();
    assert!(
        err.contains(
            "python-home '/usr' is not a directory inside the chroot directory ('/usr/usr')"
        ),
        "{err}"
    );
}

#[test]
fn process_options_refuse_bad_values() {
    let err = |raw: &str| parse_daemon_process(raw).unwrap_err();
    assert!(err("s stack-size=0").contains("stack-size must be at least 1"));
    assert!(err("s stack-size=-1").contains("invalid value '-1' for stack-size"));
    assert!(err("s cpu-priority=high").contains("invalid value 'high' for cpu-priority"));
    assert!(
        err("s virtual-memory-limit=-1").contains("invalid value '-1' for virtual-memory-limit")
    );
    assert!(err("s eviction-timeout=x").contains("invalid value 'x' for eviction-timeout"));
    assert!(err("s chroot=jail").contains("invalid chroot directory 'jail'"));
    assert!(err("s script-user=").contains("script-user needs a value"));
    assert!(
        err("s script-user=a script-group=b").contains("only one of script-user and script-group")
    );
}
