//! Every checklist version a device or the hub knows. An incident records the
//! `(id, version)` it started with and is always run with exactly that version:
//! publishing version 2 mid-incident must not move questions under a volunteer's
//! fingers or reinterpret answers already given.

use std::collections::BTreeMap;

use super::check::CheckedTemplate;
use super::default::default_template;
use crate::error::{Error, Result};
use crate::incident::TemplateRef;

#[derive(Clone, Debug, Default)]
pub struct Registry {
    templates: BTreeMap<String, BTreeMap<u32, CheckedTemplate>>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry holding the checklist that ships with Testigo.
    pub fn with_default() -> Result<Self> {
        let mut registry = Self::new();
        registry.publish(default_template()?)?;
        Ok(registry)
    }

    /// Adds a version. Publishing the same version again is harmless (sync may deliver
    /// it twice); publishing different content under a version already known is
    /// refused, because incidents started on it must keep reading the same questions.
    pub fn publish(&mut self, template: CheckedTemplate) -> Result<TemplateRef> {
        let reference = template.template_ref();
        let versions = self.templates.entry(reference.id.clone()).or_default();
        match versions.get(&reference.version) {
            Some(existing) if existing.template() == template.template() => {}
            Some(_) => {
                return Err(Error::not_permitted(format!(
                    "checklist {:?} version {} is already published with other content; publish it as a new version",
                    reference.id, reference.version
                )))
            }
            None => {
                versions.insert(reference.version, template);
            }
        }
        Ok(reference)
    }

    /// The exact version an incident started with.
    pub fn resolve(&self, reference: &TemplateRef) -> Result<&CheckedTemplate> {
        self.templates
            .get(&reference.id)
            .and_then(|versions| versions.get(&reference.version))
            .ok_or_else(|| {
                Error::not_found(format!(
                    "checklist {:?} version {}",
                    reference.id, reference.version
                ))
            })
    }

    /// The newest version, for starting a new incident.
    pub fn latest(&self, id: &str) -> Result<&CheckedTemplate> {
        self.templates
            .get(id)
            .and_then(|versions| versions.values().next_back())
            .ok_or_else(|| Error::not_found(format!("checklist {id:?}")))
    }

    /// The versions known for `id`, oldest first.
    pub fn versions(&self, id: &str) -> Vec<u32> {
        self.templates
            .get(id)
            .map(|v| v.keys().copied().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::default::DEFAULT_TEMPLATE_ID;
    use crate::checklist::template::Template;
    use crate::checklist::text::Text;

    fn version_2() -> CheckedTemplate {
        let mut template: Template = default_template().unwrap().template().clone();
        template.version = 2;
        template.sections[0].questions[0].label =
            Text::new([("en", "Check in"), ("es", "Registre su llegada")]);
        CheckedTemplate::new(template).unwrap()
    }

    #[test]
    fn incidents_keep_the_version_they_started_with() {
        let mut registry = Registry::with_default().unwrap();
        let started_on = registry.latest(DEFAULT_TEMPLATE_ID).unwrap().template_ref();
        assert_eq!(started_on.version, 1);

        registry.publish(version_2()).unwrap();
        assert_eq!(registry.versions(DEFAULT_TEMPLATE_ID), [1, 2]);
        assert_eq!(
            registry
                .latest(DEFAULT_TEMPLATE_ID)
                .unwrap()
                .template()
                .version,
            2
        );
        let resolved = registry.resolve(&started_on).unwrap();
        assert_eq!(resolved.template().version, 1);
        assert_eq!(
            resolved.question("arrival").unwrap().label.get("en"),
            "Check in when you arrive at the reported place"
        );
    }

    #[test]
    fn a_published_version_never_changes() {
        let mut registry = Registry::with_default().unwrap();
        assert!(
            registry.publish(default_template().unwrap()).is_ok(),
            "the same content again is harmless"
        );
        let mut changed = version_2().template().clone();
        changed.version = 1;
        let result = registry.publish(CheckedTemplate::new(changed).unwrap());
        assert!(matches!(result, Err(Error::NotPermitted { .. })));
        assert_eq!(
            registry
                .resolve(&TemplateRef {
                    id: DEFAULT_TEMPLATE_ID.into(),
                    version: 1
                })
                .unwrap(),
            &default_template().unwrap()
        );
    }

    #[test]
    fn unknown_templates_are_not_found() {
        let registry = Registry::with_default().unwrap();
        let missing = registry.resolve(&TemplateRef {
            id: DEFAULT_TEMPLATE_ID.into(),
            version: 9,
        });
        assert!(matches!(missing, Err(Error::NotFound { what }) if what.contains("version 9")));
        assert!(matches!(
            registry.resolve(&TemplateRef {
                id: "other".into(),
                version: 1
            }),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            registry.latest("other"),
            Err(Error::NotFound { .. })
        ));
        assert!(registry.versions("other").is_empty());
    }
}
