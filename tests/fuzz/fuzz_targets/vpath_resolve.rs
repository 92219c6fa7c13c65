//! The virtual path resolver: any text as the path of a root URI, decoded by `roots::vpath`
//! and resolved beneath a fixed directory tree (with symlinks pointing out of it) by both
//! resolvers. Oracle: whatever is opened is inside the root, per the kernel's own view of the
//! descriptor (`/proc/self/fd`), and an accepted path round-trips through `encode`.
#![no_main]

use airlock::enforce::roots::fs::{FsRoot, Resolver};
use airlock::enforce::roots::vpath;
use libfuzzer_sys::fuzz_target;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::OnceLock;

fn tree() -> &'static (PathBuf, [FsRoot; 2]) {
    static TREE: OnceLock<(PathBuf, [FsRoot; 2])> = OnceLock::new();
    TREE.get_or_init(|| {
        let base = std::env::temp_dir().join(format!("airlock-fuzz-vpath-{}", std::process::id()));
        let root = base.join("root");
        std::fs::create_dir_all(root.join("docs/sub")).unwrap();
        std::fs::write(base.join("secret.txt"), "outside").unwrap();
        std::fs::write(root.join("docs/readme.md"), "inside").unwrap();
        std::fs::write(root.join("docs/sub/a.txt"), "inside").unwrap();
        let link = |target: &str, name: &str| {
            let _ = std::os::unix::fs::symlink(target, root.join(name));
        };
        link("/etc", "etc");
        link("..", "up");
        link("../secret.txt", "secret");
        link("docs/readme.md", "readme");
        link("/proc/self/root", "proc");
        let root = root.canonicalize().unwrap();
        let roots = [
            FsRoot::with_resolver(&root, Resolver::detect()),
            FsRoot::with_resolver(&root, Resolver::Walk),
        ];
        (root, roots)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(path) = vpath::parse(raw) else {
        return;
    };
    let again = vpath::parse(&vpath::encode(&path.relative())).expect("an encoded path parses");
    assert_eq!(again.segments, path.segments, "encode/parse round trip");
    let (root, roots) = tree();
    for fs in roots {
        if let Ok((fd, _)) = fs.resolve(&path) {
            let opened = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
            assert!(
                opened.starts_with(root),
                "{raw:?} opened {opened:?} outside {root:?}"
            );
        }
    }
});
