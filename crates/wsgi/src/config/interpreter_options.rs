//! `<WSGIInterpreterOptions process-group=... application-group=...>`:
//! sections that scope `WSGIPythonPath`, `WSGISwitchInterval`,
//! `WSGIRestrictStdin`, `WSGIRestrictStdout`, `WSGIRestrictSignal` (and
//! `WSGIPerInterpreterGIL`, `WSGIFreeThreading`) to the interpreters they
//! select, as mod_wsgi 6.1.1 does (wsgi_config.c's section handler,
//! wsgi_interp.c's `wsgi_resolve_interpreter_options`).
//!
//! A section's selectors must all match; among the matching sections the
//! most specific (the most selectors) sets each option, the later one on a
//! tie, and the top-level directive applies where none does. Python path
//! entries are not chosen but layered: every matching section's entries
//! are added, least specific first.
//!
//! `application-group=%{GLOBAL}` selects the main interpreter; another
//! name selects that application group's sub-interpreter, whose options
//! are resolved when it is made ([`InterpreterSections`]).

use super::args::split_arguments;
use super::python_options::parse_switch_interval;
use super::settings::ServerSettings;
use crate::python::StartupOptions;

/// One `<WSGIInterpreterOptions>` section: its selectors (`Some("")` is
/// `%{GLOBAL}`, mod_wsgi's empty name) and the options set inside it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InterpreterOptionsBlock {
    pub process_group: Option<String>,
    pub application_group: Option<String>,
    pub python_path: Option<String>,
    pub switch_interval: Option<f64>,
    pub restrict_stdin: Option<bool>,
    pub restrict_stdout: Option<bool>,
    pub restrict_signal: Option<bool>,
}

const SECTION: &str = "<WSGIInterpreterOptions>";

/// The section's opening tag: `key=value` selectors, then the closing '>'.
pub(super) fn parse_section(raw: &str) -> Result<InterpreterOptionsBlock, String> {
    let Some(end) = raw.rfind('>') else {
        return Err(format!("{SECTION} directive missing closing '>'"));
    };
    let mut block = InterpreterOptionsBlock::default();
    for word in split_arguments(&raw[..end])? {
        let Some((key, value)) = word.split_once('=') else {
            return Err(format!(
                "{SECTION}: argument '{word}' is not of the form key=value"
            ));
        };
        let name = if value == "%{GLOBAL}" { "" } else { value };
        let slot = if key.eq_ignore_ascii_case("process-group") {
            &mut block.process_group
        } else if key.eq_ignore_ascii_case("application-group") {
            &mut block.application_group
        } else {
            return Err(format!(
                "{SECTION}: unknown selector '{key}', expected process-group or application-group"
            ));
        };
        if slot.is_some() {
            return Err(format!(
                "{SECTION}: {} given more than once",
                key.to_ascii_lowercase()
            ));
        }
        *slot = Some(name.to_owned());
    }
    Ok(block)
}

/// Applies a directive read inside a section to that section. `None`: the
/// directive is not one a section scopes, and applies as anywhere else
/// (`WSGIPerInterpreterGIL` and `WSGIFreeThreading` too: only `Off` is
/// accepted, which is their default).
pub(super) fn apply_in_block(
    name: &str,
    value: &str,
    block: &mut InterpreterOptionsBlock,
) -> Option<Result<(), String>> {
    let on_off = |value: &str| super::args::off_or_on(name, value);
    let result = match name.to_ascii_lowercase().as_str() {
        "wsgipythonpath" => {
            block.python_path = Some(value.to_owned());
            Ok(())
        }
        "wsgiswitchinterval" => {
            parse_switch_interval(name, value).map(|v| block.switch_interval = Some(v))
        }
        "wsgirestrictstdin" => on_off(value).map(|v| block.restrict_stdin = Some(v)),
        "wsgirestrictstdout" => on_off(value).map(|v| block.restrict_stdout = Some(v)),
        "wsgirestrictsignal" => on_off(value).map(|v| block.restrict_signal = Some(v)),
        _ => return None,
    };
    Some(result)
}

/// How many selectors of `block` there are, or `None` if one does not
/// match this process's group (`""` for an Apache child) and the main
/// interpreter.
fn specificity(block: &InterpreterOptionsBlock, process_group: &str) -> Option<u32> {
    specificity_for(block, process_group, "")
}

/// The same for application group `application_group`'s interpreter (`""`
/// the main one).
fn specificity_for(
    block: &InterpreterOptionsBlock,
    process_group: &str,
    application_group: &str,
) -> Option<u32> {
    let mut count = 0;
    if let Some(group) = &block.process_group {
        if group != process_group {
            return None;
        }
        count += 1;
    }
    if let Some(group) = &block.application_group {
        if group != application_group {
            return None;
        }
        count += 1;
    }
    Some(count)
}

/// The sections that can select the interpreters of one process, kept to
/// resolve a sub-interpreter's options when it is made (its group's name
/// is known only then): a process's options and Python path, as for its
/// main interpreter, with the sections that select the group on top.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InterpreterSections {
    process_group: String,
    blocks: Vec<InterpreterOptionsBlock>,
    /// The process's Python path before any section's entries.
    base_path: Vec<String>,
}

impl InterpreterSections {
    /// Application group `group`'s options, from the process's (`process`,
    /// what its main interpreter got), and its Python path.
    pub fn resolve(&self, group: &str, process: &StartupOptions) -> (StartupOptions, Vec<String>) {
        let blocks: Vec<(u32, &InterpreterOptionsBlock)> = self
            .blocks
            .iter()
            .filter_map(|b| specificity_for(b, &self.process_group, group).map(|s| (s, b)))
            .collect();
        let options = StartupOptions {
            switch_interval: resolve(&blocks, process.switch_interval, |b| b.switch_interval),
            restrict_stdin: resolve(&blocks, Some(process.restrict_stdin), |b| b.restrict_stdin)
                .unwrap_or(false),
            restrict_stdout: resolve(&blocks, Some(process.restrict_stdout), |b| {
                b.restrict_stdout
            })
            .unwrap_or(false),
            restrict_signal: resolve(&blocks, Some(process.restrict_signal), |b| {
                b.restrict_signal
            })
            .unwrap_or(true),
            ..process.clone()
        };
        let mut layered: Vec<(usize, u32, &str)> = self
            .blocks
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                let path = b.python_path.as_deref().filter(|p| !p.is_empty())?;
                specificity_for(b, &self.process_group, group).map(|s| (i, s, path))
            })
            .collect();
        layered.sort_by_key(|&(i, s, _)| (s, i));
        let path = self
            .base_path
            .iter()
            .cloned()
            .chain(
                layered
                    .into_iter()
                    .flat_map(|(_, _, path)| path.split(':').filter(|p| !p.is_empty()))
                    .map(str::to_owned),
            )
            .collect();
        (options, path)
    }
}

/// One option resolved across the matching sections.
fn resolve<T: Copy>(
    blocks: &[(u32, &InterpreterOptionsBlock)],
    top: Option<T>,
    field: impl Fn(&InterpreterOptionsBlock) -> Option<T>,
) -> Option<T> {
    let mut best: Option<(u32, T)> = None;
    for (specificity, block) in blocks {
        if let Some(value) = field(block)
            && best.is_none_or(|(s, _)| *specificity >= s)
        {
            best = Some((*specificity, value));
        }
    }
    best.map(|(_, v)| v).or(top)
}

impl<R: Clone> ServerSettings<R> {
    fn matching_blocks(&self, process_group: &str) -> Vec<(u32, &InterpreterOptionsBlock)> {
        self.interpreter_options
            .iter()
            .filter_map(|b| specificity(b, process_group).map(|s| (s, b)))
            .collect()
    }

    /// The start-up options of a process of `process_group` (`""`: an
    /// Apache child): the top-level directives, then the sections.
    pub fn python_options_for(&self, process_group: &str) -> StartupOptions {
        let base = self.python_options();
        let blocks = self.matching_blocks(process_group);
        StartupOptions {
            switch_interval: resolve(&blocks, base.switch_interval, |b| b.switch_interval),
            restrict_stdin: resolve(&blocks, Some(base.restrict_stdin), |b| b.restrict_stdin)
                .unwrap_or(false),
            restrict_stdout: resolve(&blocks, Some(base.restrict_stdout), |b| b.restrict_stdout)
                .unwrap_or(false),
            restrict_signal: resolve(&blocks, Some(base.restrict_signal), |b| b.restrict_signal)
                .unwrap_or(true),
            ..base
        }
    }

    /// The sections' python path entries for a process of `process_group`,
    /// least specific section first, each `:`-separated path in order.
    pub fn python_path_layers(&self, process_group: &str) -> Vec<String> {
        let mut blocks: Vec<(usize, u32, &str)> = self
            .interpreter_options
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                let path = b.python_path.as_deref().filter(|p| !p.is_empty())?;
                specificity(b, process_group).map(|s| (i, s, path))
            })
            .collect();
        blocks.sort_by_key(|&(i, s, _)| (s, i));
        blocks
            .into_iter()
            .flat_map(|(_, _, path)| path.split(':').filter(|p| !p.is_empty()))
            .map(str::to_owned)
            .collect()
    }

    /// The sections a process of `process_group` resolves its
    /// sub-interpreters' options from; `base_path` is its Python path
    /// before any section's entries.
    pub fn interpreter_sections(
        &self,
        process_group: &str,
        base_path: Vec<String>,
    ) -> InterpreterSections {
        InterpreterSections {
            process_group: process_group.to_owned(),
            blocks: self.interpreter_options.clone(),
            base_path,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(sections: &[(&str, &[(&str, &str)])]) -> ServerSettings<()> {
        let mut server = ServerSettings::<()>::default();
        for (head, inside) in sections {
            let mut block = parse_section(head).unwrap();
            for (name, value) in *inside {
                apply_in_block(name, value, &mut block).unwrap().unwrap();
            }
            server.interpreter_options.push(block);
        }
        server
    }

    #[test]
    fn the_opening_tag_is_checked_as_mod_wsgi_does() {
        let block = parse_section("process-group=site application-group=%{GLOBAL}>").unwrap();
        assert_eq!(block.process_group.as_deref(), Some("site"));
        assert_eq!(block.application_group.as_deref(), Some(""));
        assert_eq!(
            parse_section(">").unwrap(),
            InterpreterOptionsBlock::default()
        );
        let error = |raw| parse_section(raw).unwrap_err();
        assert!(error("process-group=site").contains("missing closing '>'"));
        assert!(error("site>").contains("argument 'site' is not of the form key=value"));
        assert!(error("host=site>").contains("unknown selector 'host'"));
        assert!(
            error("process-group=a process-group=b>")
                .contains("process-group given more than once")
        );
    }

    #[test]
    fn only_the_scoped_directives_go_into_a_section() {
        let mut block = InterpreterOptionsBlock::default();
        assert!(apply_in_block("WSGIScriptAlias", "/ /x.wsgi", &mut block).is_none());
        assert!(apply_in_block("WSGIPerInterpreterGIL", "Off", &mut block).is_none());
        assert!(
            apply_in_block("WSGIRestrictStdout", "maybe", &mut block)
                .unwrap()
                .unwrap_err()
                .contains("must be one of: Off | On")
        );
        assert!(
            apply_in_block("WSGISwitchInterval", "0", &mut block)
                .unwrap()
                .is_err()
        );
    }

    #[test]
    fn the_most_specific_matching_section_wins_and_the_later_on_a_tie() {
        let mut server = server(&[
            (
                ">",
                &[("WSGIRestrictStdout", "On"), ("WSGISwitchInterval", "0.5")],
            ),
            ("process-group=site>", &[("WSGIRestrictStdout", "Off")]),
            ("process-group=site>", &[("WSGISwitchInterval", "0.25")]),
            (
                "process-group=site application-group=other>",
                &[("WSGIRestrictStdin", "On")],
            ),
        ]);
        server.restrict_stdin = Some(false);
        let child = server.python_options_for("");
        assert!(child.restrict_stdout && !child.restrict_stdin);
        assert_eq!(child.switch_interval, Some(0.5));
        let site = server.python_options_for("site");
        assert!(!site.restrict_stdout && !site.restrict_stdin);
        assert_eq!(site.switch_interval, Some(0.25));
        // The section naming application group 'other' selects its
        // sub-interpreter in the group's daemons, over the process's options.
        let sections = server.interpreter_sections("site", vec!["/base".to_owned()]);
        let (other, path) = sections.resolve("other", &site);
        assert!(other.restrict_stdin && !other.restrict_stdout);
        assert_eq!(other.switch_interval, Some(0.25));
        assert_eq!(path, ["/base"]);
        let (another, _) = sections.resolve("another", &site);
        assert_eq!(another, site);
        let in_children = server.interpreter_sections("", Vec::new());
        assert!(!in_children.resolve("other", &child).0.restrict_stdin);
    }

    #[test]
    fn a_sub_interpreter_gets_its_sections_path_entries_after_the_base() {
        let server = server(&[
            (">", &[("WSGIPythonPath", "/all")]),
            ("application-group=one>", &[("WSGIPythonPath", "/one:/uno")]),
            (
                "application-group=%{GLOBAL}>",
                &[("WSGIPythonPath", "/main")],
            ),
        ]);
        assert_eq!(server.python_path_layers(""), ["/all", "/main"]);
        let sections = server.interpreter_sections("", vec!["/base".to_owned()]);
        let options = server.python_options_for("");
        assert_eq!(
            sections.resolve("one", &options).1,
            ["/base", "/all", "/one", "/uno"]
        );
        assert_eq!(sections.resolve("two", &options).1, ["/base", "/all"]);
    }

    #[test]
    fn python_path_entries_are_layered_least_specific_first() {
        let server = server(&[
            ("process-group=site>", &[("WSGIPythonPath", "/b:/c")]),
            (">", &[("WSGIPythonPath", "/a")]),
            ("process-group=other>", &[("WSGIPythonPath", "/x")]),
        ]);
        assert_eq!(server.python_path_layers("site"), ["/a", "/b", "/c"]);
        assert_eq!(server.python_path_layers(""), ["/a"]);
    }
}
