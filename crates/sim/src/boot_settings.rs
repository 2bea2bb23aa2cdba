//! AMT_BootSettingData as a board stores it (fixture amt/boot/settingdata/get.xml): the
//! values every boot restores and the fields a Put may change.

/// AMT_BootSettingData as the AMT 12 fixture shows it after a boot (options cleared).
pub(crate) fn default_boot_settings() -> Vec<(&'static str, String)> {
    [
        ("BIOSLastStatus", "2"),
        ("BIOSLastStatus", "0"),
        ("BIOSPause", "false"),
        ("BIOSSetup", "false"),
        ("BootMediaIndex", "0"),
        ("BootguardStatus", "127"),
        ("ConfigurationDataReset", "false"),
        ("ElementName", "Intel(r) AMT Boot Configuration Settings"),
        ("EnforceSecureBoot", "false"),
        ("FirmwareVerbosity", "0"),
        ("ForcedProgressEvents", "false"),
        ("IDERBootDevice", "0"),
        ("InstanceID", "Intel(r) AMT:BootSettingData 0"),
        ("LockKeyboard", "false"),
        ("LockPowerButton", "false"),
        ("LockResetButton", "false"),
        ("LockSleepButton", "false"),
        ("OptionsCleared", "true"),
        ("OwningEntity", "Intel(r) AMT"),
        ("PlatformErase", "false"),
        ("RPEEnabled", "true"),
        ("RSEPassword", ""),
        ("ReflashBIOS", "false"),
        ("SecureBootControlEnabled", "true"),
        ("SecureErase", "false"),
        ("UEFIHTTPSBootEnabled", "true"),
        ("UEFILocalPBABootEnabled", "true"),
        ("UefiBootNumberOfParams", "0"),
        ("UseIDER", "false"),
        ("UseSOL", "false"),
        ("UseSafeMode", "false"),
        ("UserPasswordBypass", "false"),
        ("WinREBootEnabled", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .collect()
}

/// The AMT_BootSettingData fields a Put may change (the ones MeshCommander and Console set
/// in step 3 of amt-protocol.md §2a "Forcing PXE"). Others in a Put body are ignored.
pub(crate) const WRITABLE: [&str; 19] = [
    "BIOSPause",
    "BIOSSetup",
    "BootMediaIndex",
    "ConfigurationDataReset",
    "EnforceSecureBoot",
    "FirmwareVerbosity",
    "ForcedProgressEvents",
    "IDERBootDevice",
    "LockKeyboard",
    "LockPowerButton",
    "LockResetButton",
    "LockSleepButton",
    "ReflashBIOS",
    "SecureErase",
    "UseIDER",
    "UseSOL",
    "UseSafeMode",
    "UserPasswordBypass",
    "PlatformErase",
];
