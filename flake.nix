{
  # The reference setup for users of boot-image-vm: a NixOS minimal installation ISO that prints
  # its console on the serial port, starts sshd and lets root in with the key the action generates.
  # The action builds it with: PRE_NIXOS_ROOT_KEY=<key.pub> nix build .#bootImage --impure
  # Commit flake.lock (`nix flake lock`): it pins nixpkgs, so every run builds the same system and
  # the action's image cache key (which hashes flake.lock) stays the same between runs.
  description = "boot-image-vm: a NixOS boot ISO to build, boot in QEMU and probe over SSH";

  # A supported NixOS release (25.11; each release gets security fixes for about seven months).
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs = { self, nixpkgs }:
    let
      system = "x86_64-linux";
      lib = nixpkgs.lib;
      pkgs = nixpkgs.legacyPackages.${system};

      # The path of root's SSH public key, read at evaluation time (needs --impure).
      rootKeyFile = builtins.getEnv "PRE_NIXOS_ROOT_KEY";
      rootKey =
        if rootKeyFile == "" then
          throw "bootImage: PRE_NIXOS_ROOT_KEY is empty: set it to the path of root's SSH public key and build with --impure"
        else
          builtins.readFile rootKeyFile;

      testTools = [
        pkgs.qemu
        pkgs.openssh
        (pkgs.python3.withPackages (ps: [ ps.pytest ]))
      ];
    in
    {
      nixosConfigurations.bootImage = nixpkgs.lib.nixosSystem {
        inherit system;
        modules = [
          "${nixpkgs}/nixos/modules/installer/cd-dvd/installation-cd-minimal.nix"
          {
            # Without ttyS0 the serial log (the action's only view of the boot) stays empty; the
            # last console= is /dev/console, so systemd's messages and a panic reach the log.
            boot.kernelParams = [ "console=tty0" "console=ttyS0,115200n8" ];
            # The ISO's boot menu (isolinux for BIOS, GRUB for UEFI) waits 10 s by default, which
            # boot-seconds would count. Both take their timeout from boot.loader.timeout; 1 s, not
            # 0, because isolinux reads 0 as "wait forever".
            boot.loader.timeout = lib.mkForce 1;
            services.openssh.enable = true;
            services.openssh.settings.PermitRootLogin = "prohibit-password";
            # Baked in: a new image every run. To reuse cached images whole, take the key at boot
            # instead (the README's "Cache" section: the credential ssh.authorized_keys.root).
            users.users.root.openssh.authorizedKeys.keys = [ rootKey ];
          }
        ];
      };

      packages.${system}.bootImage = self.nixosConfigurations.bootImage.config.system.build.isoImage;

      devShells.${system} = {
        # The shell a test suite drives the image from (the incident's `nix develop .#bootImageTest`).
        bootImageTest = pkgs.mkShell { packages = testTools; };
        # For working on the action itself.
        default = pkgs.mkShell { packages = [ pkgs.nodejs_24 ] ++ testTools; };
      };
    };
}
