//! `ResourceArgs`: kubectl's resource arguments — `KIND [NAME...]`, `KIND1,KIND2`, or
//! `KIND/NAME ...` — resolved against the table of served kinds.

use anyhow::bail;

use crate::objects::{RegistryTable, ResourceKind};

/// kubectl's `all` category, in the order `kubectl get all` prints it.
pub const ALL_CATEGORY: &[&str] = &[
    "pods",
    "services",
    "daemonsets.apps",
    "deployments.apps",
    "replicasets.apps",
    "statefulsets.apps",
    "horizontalpodautoscalers.autoscaling",
    "jobs.batch",
    "cronjobs.batch",
];

/// What the arguments name.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourceArgs {
    /// Every object of these kinds (`get pods`, `get deploy,svc`).
    Kinds(Vec<&'static ResourceKind>),
    /// These objects (`get pod a b`, `get deploy/web svc/web`).
    Named(Vec<(&'static ResourceKind, String)>),
}

/// Resolves one kind name (`po`, `deployments.apps`, `Deployment`).
pub fn kind(name: &str) -> anyhow::Result<&'static ResourceKind> {
    Ok(RegistryTable::by_resource(name)?)
}

impl ResourceArgs {
    pub fn parse(args: &[String]) -> anyhow::Result<ResourceArgs> {
        let Some(first) = args.first() else {
            bail!("you must specify the type of resource to get. Use \"keelctl api-resources\" for a complete list of supported resources");
        };
        if first.contains('/') {
            let mut named = Vec::new();
            for a in args {
                let Some((k, n)) = a.split_once('/') else {
                    bail!("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'keelctl get resource/<resource_name>' instead of 'keelctl get resource resource/<resource_name>'");
                };
                if n.is_empty() {
                    bail!("arguments in resource/name form must have a single resource and name");
                }
                named.push((kind(k)?, n.to_string()));
            }
            return Ok(ResourceArgs::Named(named));
        }
        let mut kinds: Vec<&'static ResourceKind> = Vec::new();
        for name in first.split(',').filter(|k| !k.is_empty()) {
            if name == "all" {
                for k in ALL_CATEGORY {
                    kinds.push(kind(k)?);
                }
            } else {
                kinds.push(kind(name)?);
            }
        }
        if args.len() == 1 {
            return Ok(ResourceArgs::Kinds(kinds));
        }
        if kinds.len() != 1 {
            bail!("names may be given with only one resource type (got {first})");
        }
        if let Some(bad) = args[1..].iter().find(|a| a.contains('/')) {
            bail!("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (got {bad})");
        }
        Ok(ResourceArgs::Named(
            args[1..].iter().map(|n| (kinds[0], n.clone())).collect(),
        ))
    }

    /// Exactly one object (`scale deploy web`, `scale deploy/web`).
    pub fn parse_one(args: &[String]) -> anyhow::Result<(&'static ResourceKind, String)> {
        match ResourceArgs::parse(args)? {
            ResourceArgs::Named(mut v) if v.len() == 1 => Ok(v.remove(0)),
            ResourceArgs::Named(_) => {
                bail!("exactly one object must be named (got {})", args.join(" "))
            }
            ResourceArgs::Kinds(_) => bail!("a resource name is required (KIND NAME or KIND/NAME)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn forms() {
        let ResourceArgs::Kinds(k) = ResourceArgs::parse(&s(&["deploy,svc"])).unwrap() else {
            panic!()
        };
        assert_eq!(
            k.iter().map(|k| k.plural).collect::<Vec<_>>(),
            vec!["deployments", "services"]
        );
        let ResourceArgs::Named(n) = ResourceArgs::parse(&s(&["po", "a", "b"])).unwrap() else {
            panic!()
        };
        assert_eq!(n.len(), 2);
        assert_eq!(n[1].0.kind, "Pod");
        let ResourceArgs::Named(n) = ResourceArgs::parse(&s(&["deploy/web", "svc/web"])).unwrap()
        else {
            panic!()
        };
        assert_eq!((n[1].0.kind, n[1].1.as_str()), ("Service", "web"));
        for short in ["po", "deploy", "svc", "ns", "cm", "rs", "sts", "ds"] {
            assert!(kind(short).is_ok(), "{short}");
        }
        let (k, n) = ResourceArgs::parse_one(&s(&["deployments.apps", "web"])).unwrap();
        assert_eq!((k.kind, n.as_str()), ("Deployment", "web"));
    }

    #[test]
    fn errors() {
        let e = ResourceArgs::parse(&s(&["foos"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the server doesn't have a resource type \"foos\""
        );
        assert!(ResourceArgs::parse(&s(&["deploy,svc", "x"])).is_err());
        assert!(ResourceArgs::parse(&s(&["deploy/web", "svc"])).is_err());
        assert!(ResourceArgs::parse(&[]).is_err());
        let ResourceArgs::Kinds(all) = ResourceArgs::parse(&s(&["all"])).unwrap() else {
            panic!()
        };
        assert_eq!(all.len(), ALL_CATEGORY.len());
        assert!(ResourceArgs::parse_one(&s(&["deploy"])).is_err());
    }
}
