//! The README's test command is the one CI runs, and it sets up what the
//! tests import: `scripts/test.sh` installs the Python packages the shared
//! helper (`locallm_tests::python`) names in its failure message.

mod common;
use common::read;

/// The command under the README's "2. Run every test" comment.
fn readme_test_command() -> String {
    let readme = read("README.md");
    let mut lines = readme
        .lines()
        .skip_while(|l| !l.starts_with("# 2. Run every test"));
    lines
        .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .expect("a command under `# 2. Run every test`")
        .trim()
        .to_string()
}

#[test]
fn ci_runs_exactly_the_readme_test_command_which_is_the_setup_script() {
    let command = readme_test_command();
    assert_eq!(command, "bash scripts/test.sh");
    let ci = read(".ci/run");
    assert!(
        ci.lines().any(|l| l.trim() == command),
        ".ci/run does not run `{command}`"
    );
    // and it names the setup command the tests' failures point to
    assert_eq!(locallm_tests::python::SETUP, format!("{command} --setup"));
}

#[test]
fn the_script_installs_the_packages_the_tests_import() {
    let script = read("scripts/test.sh");
    let line = script
        .lines()
        .find(|l| l.starts_with("PACKAGES=("))
        .expect("PACKAGES=(...) in scripts/test.sh");
    let listed: Vec<&str> = line
        .trim_start_matches("PACKAGES=(")
        .trim_end_matches(')')
        .split_whitespace()
        .collect();
    assert_eq!(listed, locallm_tests::python::PACKAGES);
    let syntax = std::process::Command::new("bash")
        .args(["-n", "scripts/test.sh"])
        .current_dir(locallm_tests::python::root())
        .status()
        .unwrap();
    assert!(syntax.success(), "bash -n scripts/test.sh");
}
