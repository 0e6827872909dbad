//! The typst `World` of one rendering: the shared, parsed-once assets (standard library,
//! embedded fonts, template sources) and the bytes of one job (its JSON, logos, the EHF XML),
//! all in memory under fixed virtual paths. No file system, no network, no packages, no clock
//! (`today` is `None`; documents carry their own date).

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

/// The fonts documents are set in: Libertinus Serif for text, DejaVu Sans Mono beside it
/// (typst's own embedded set), parsed once.
fn embedded_fonts() -> Vec<Font> {
    typst_assets::fonts()
        .flat_map(|data| Font::iter(Bytes::new(data)))
        .filter(|font| {
            let family = font.info().family.as_str();
            family.starts_with("Libertinus Serif") || family.starts_with("DejaVu Sans Mono")
        })
        .collect()
}

fn file_id(path: &str) -> FileId {
    // The paths are this module's constants: they always parse.
    let vpath = VirtualPath::new(path).unwrap_or_else(|_| unreachable!("virtual path {path}"));
    RootedPath::new(VirtualRoot::Project, vpath).intern()
}

pub(crate) const SINGLE: &str = "/single.typ";
pub(crate) const PRINT_RUN: &str = "/print-run.typ";
const INVOICE: &str = "/invoice.typ";
const DATA: &str = "/data.json";
const ATTACHMENT: &str = "/attachment.xml";
const LOGO_PREFIX: &str = "/logo-";

/// What every rendering shares: built once, `Send + Sync`.
pub(crate) struct Assets {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    sources: Vec<Source>,
}

impl Assets {
    pub fn new() -> Self {
        let fonts = embedded_fonts();
        let book = FontBook::from_fonts(&fonts);
        let sources = [
            (SINGLE, include_str!("../../templates/single.typ")),
            (PRINT_RUN, include_str!("../../templates/print-run.typ")),
            (INVOICE, include_str!("../../templates/invoice.typ")),
        ]
        .into_iter()
        .map(|(path, text)| Source::new(file_id(path), text.to_owned()))
        .collect();
        Assets {
            library: LazyHash::new(Library::default()),
            book: LazyHash::new(book),
            fonts,
            sources,
        }
    }

    pub fn font_count(&self) -> usize {
        self.fonts.len()
    }
}

/// One job: which template, its JSON, the logos it draws and the XML it attaches.
pub(crate) struct JobWorld<'a> {
    pub assets: &'a Assets,
    pub main: FileId,
    pub data: Bytes,
    /// `/logo-0.svg`, `/logo-1.svg`, … (distinct logos of the job).
    pub logos: Vec<Bytes>,
    pub attachment: Option<Bytes>,
}

impl<'a> JobWorld<'a> {
    pub fn new(
        assets: &'a Assets,
        main: &str,
        data: Vec<u8>,
        logos: Vec<Bytes>,
        attachment: Option<Bytes>,
    ) -> Self {
        JobWorld {
            assets,
            main: file_id(main),
            data: Bytes::new(data),
            logos,
            attachment,
        }
    }
}

/// The path of the `index`th logo of a job.
pub(crate) fn logo_path(index: usize) -> String {
    format!("{LOGO_PREFIX}{index}.svg")
}

impl World for JobWorld<'_> {
    fn library(&self) -> &LazyHash<Library> {
        &self.assets.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.assets.book
    }

    fn main(&self) -> FileId {
        self.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        self.assets
            .sources
            .iter()
            .find(|source| source.id() == id)
            .cloned()
            .ok_or_else(|| not_found(id))
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        let path = id.vpath().get_with_slash();
        if let Some(source) = self.assets.sources.iter().find(|s| s.id() == id) {
            return Ok(Bytes::from_string(source.text().to_owned()));
        }
        match path {
            DATA => Ok(self.data.clone()),
            ATTACHMENT => self.attachment.clone().ok_or_else(|| not_found(id)),
            _ => path
                .strip_prefix(LOGO_PREFIX)
                .and_then(|rest| rest.strip_suffix(".svg"))
                .and_then(|index| index.parse::<usize>().ok())
                .and_then(|index| self.logos.get(index).cloned())
                .ok_or_else(|| not_found(id)),
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.assets.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        None
    }
}

fn not_found(id: FileId) -> FileError {
    FileError::NotFound(id.vpath().get_with_slash().into())
}
