//! The settings that are a choice among named values: the Lambda architecture (and how the
//! other one runs here), which objects the lifecycle tiers, the compaction schedule's state.

use serde::{Deserialize, Serialize};

use crate::Error;

/// Lambda instruction set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Architecture {
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

impl Architecture {
    /// Both, in the order `cargo xtask ci` packages them.
    pub const ALL: [Self; 2] = [Self::X86_64, Self::Arm64];

    /// Lambda's (and the config's) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
        }
    }

    /// The Rust target triple the zip is built for (Amazon Linux 2023 is glibc-based).
    pub fn rust_target(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64-unknown-linux-gnu",
            Self::Arm64 => "aarch64-unknown-linux-gnu",
        }
    }

    /// The architecture of the machine running this code, if Lambda has it.
    pub fn host() -> Option<Self> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Self::X86_64),
            "aarch64" => Some(Self::Arm64),
            _ => None,
        }
    }
}

/// How a machine of the other architecture runs this one's glibc binaries: qemu-user with
/// the target's loader and glibc from Debian's cross packages (qemu's `-L` sysroot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Emulation {
    pub qemu: &'static str,
    pub sysroot: &'static str,
    /// The Debian packages that provide both.
    pub packages: [&'static str; 2],
}

impl Architecture {
    /// The emulation that runs this architecture's binaries elsewhere.
    pub fn emulation(self) -> Emulation {
        match self {
            Self::Arm64 => Emulation {
                qemu: "/usr/bin/qemu-aarch64",
                sysroot: "/usr/aarch64-linux-gnu",
                packages: ["qemu-user", "libc6-arm64-cross"],
            },
            Self::X86_64 => Emulation {
                qemu: "/usr/bin/qemu-x86_64",
                sysroot: "/usr/x86_64-linux-gnu",
                packages: ["qemu-user", "libc6-amd64-cross"],
            },
        }
    }
}

impl std::str::FromStr for Architecture {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| Error::InvalidSetting {
                key: "lambdaArchitecture",
                reason: format!("unknown architecture {s:?} (x86_64 or arm64)"),
            })
    }
}

/// S3's rule for which objects lifecycle transitions apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransitionMinimumSize {
    /// Objects of any size transition to GLACIER / DEEP_ARCHIVE (docs/DESIGN.md, Archive, explains why).
    #[serde(rename = "varies_by_storage_class")]
    VariesByStorageClass,
    /// S3's default since 2024: objects under 128 KB never transition.
    #[serde(rename = "all_storage_classes_128K")]
    AllStorageClasses128K,
}

/// Whether the hourly compaction schedule invokes the compactor (EventBridge rule `state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScheduleState {
    #[serde(rename = "ENABLED")]
    Enabled,
    /// The archive keeps one object per batch (`compact` still runs on demand).
    #[serde(rename = "DISABLED")]
    Disabled,
}
